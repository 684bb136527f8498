"""Explained analyses tracked in MLflow (`mlflow_tracking_uri`), and feedback added to them.

A run holds what the explanation was asked with (provider, model, prompt name, version and
hash, the experiment's variant), how it went (latency, tokens, the share of grounded
citations, whether it agrees with the engine) and, as artifacts, the redacted digest that
was sent and the answer with secrets replaced again. Nothing here waits for the server:
records go to a background thread (`tracking/mlflow.py`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bifrost import __version__
from bifrost.analysis.experiments import agrees, grounded_ratio, variant_settings
from bifrost.config import Settings
from bifrost.report import Report

if TYPE_CHECKING:
    from bifrost.tracking.mlflow import RunRecord


def track_explained(report: Report, analysis_id: int | None, settings: Settings) -> None:
    """Queue the run of an explained analysis; nothing when tracking is off or it was not
    explained."""
    if settings.mlflow_tracking_uri is None or report.llm is None:
        return
    from bifrost.tracking.mlflow import tracker_for  # noqa: PLC0415 — only when tracking

    tracker_for(settings.mlflow_tracking_uri).submit(run_record(report, analysis_id, settings))


def track_feedback(settings: Settings, analysis_id: int, good: bool, note: str | None) -> None:
    """Queue a person's verdict for the analysis's run."""
    if settings.mlflow_tracking_uri is None:
        return
    from bifrost.tracking.mlflow import FeedbackRecord, tracker_for  # noqa: PLC0415

    tracker_for(settings.mlflow_tracking_uri).submit(FeedbackRecord(analysis_id, good, note))


def flush_tracking(settings: Settings, timeout_s: float) -> bool:
    """Wait up to `timeout_s` for queued records to reach the server (tests, a worker that
    stops); True when nothing is left."""
    if settings.mlflow_tracking_uri is None:
        return True
    from bifrost.tracking.mlflow import tracker_for  # noqa: PLC0415

    return tracker_for(settings.mlflow_tracking_uri).flush(timeout_s)


def run_record(report: Report, analysis_id: int | None, settings: Settings) -> RunRecord:
    """The run of an explained Report (see the module docstring)."""
    from bifrost.llm.explain import prepare, redacted_explanation  # noqa: PLC0415
    from bifrost.tracking.mlflow import ANALYSIS_TAG, RunRecord  # noqa: PLC0415

    llm = report.llm
    assert llm is not None
    name, _, version = llm.prompt_version.partition("/")
    params = {
        "provider": llm.provider,
        "model": llm.model,
        "prompt_name": name,
        "prompt_version": version,
        "prompt_sha256": llm.prompt_sha256 or "",
        "engine_version": __version__,
        "reused": str(llm.reused).lower(),
    }
    if llm.experiment is not None and llm.variant is not None:
        params |= {"experiment": llm.experiment, "variant": llm.variant}
    metrics: dict[str, float | None] = {
        "latency_s": llm.duration_s,
        "prompt_tokens": llm.prompt_tokens,
        "completion_tokens": llm.completion_tokens,
        "grounded_ratio": grounded_ratio(report),
        "citations": len(llm.citations),
        "redactions": llm.redactions,
        "agrees_with_engine": _number(agrees(report)),
        "findings": len(report.findings),
    }
    tags = {"bifrost.verdict": report.verdict, "bifrost.input_sha256": report.input.sha256}
    if analysis_id is not None:
        tags[ANALYSIS_TAG] = str(analysis_id)
    sent = prepare(report.model_copy(update={"llm": None}), _explained_with(settings, report))
    return RunRecord(
        experiment=llm.experiment or settings.mlflow_experiment,
        name=f"analysis-{analysis_id}" if analysis_id is not None else report.input.name[:200],
        params=params,
        metrics={k: v for k, v in metrics.items() if v is not None},
        tags=tags,
        artifacts={
            "digest.txt": sent.digest.text,
            "answer.json": json.dumps(redacted_explanation(llm), indent=2),
        },
    )


def _explained_with(settings: Settings, report: Report) -> Settings:
    """The settings the explanation was made with (its experiment's variant, if any)."""
    llm = report.llm
    experiment = settings.experiment
    if llm is None or experiment is None or llm.variant is None:
        return settings
    chosen = next((v for v in experiment.variants if v.name == llm.variant), None)
    return variant_settings(settings, chosen) if chosen is not None else settings


def _number(flag: bool | None) -> float | None:
    return None if flag is None else float(flag)
