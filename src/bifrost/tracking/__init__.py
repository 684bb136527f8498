"""Experiment tracking: explained analyses sent to a tracking server (MLflow) as runs, off the
analysis's path. `analysis/tracking.py` says what a run holds; `mlflow.py` sends it."""
