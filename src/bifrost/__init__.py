"""Bifrost: find the few lines that explain why a log failed."""

__version__ = "0.1.0"
