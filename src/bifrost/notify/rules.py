"""Which rules an analysis matches, and the key of "the same failure" for the cool-down."""

from __future__ import annotations

import hashlib
from datetime import datetime
from fnmatch import fnmatchcase

from bifrost.config import NotifyRule
from bifrost.report import SEVERITY_RANK, Report


def matches(
    rule: NotifyRule, report: Report, service: str | None, env: str | None, now: datetime
) -> bool:
    if rule.muted_until is not None and now < rule.muted_until:
        return False
    if not (_named(rule.services, service) and _named(rule.envs, env)):
        return False
    findings = [
        f
        for f in report.findings
        if not rule.categories or _in_categories(rule.categories, f.category)
    ]
    if rule.categories and not findings:
        return False
    if report.verdict in rule.verdicts:
        return True
    if rule.severity is None:
        return False
    floor = SEVERITY_RANK[rule.severity]
    return any(SEVERITY_RANK[f.severity] >= floor for f in findings)


def failure_key(
    report: Report,
    service: str | None,
    env: str | None,
    destination: str,
    tenant: int | None = None,
) -> str:
    """The same lead template in the same service of the same tenant, to the same destination,
    is one failure however often it recurs. The default tenant is None: its keys are those
    from before tenants, so a cool-down running at the upgrade carries on."""
    lead = report.findings[0].template_id if report.findings else report.verdict
    parts = [destination, service or "", env or "", lead]
    if tenant is not None:
        parts.append(str(tenant))
    text = "\0".join(parts)
    return hashlib.sha256(text.encode()).hexdigest()


def _named(patterns: list[str], value: str | None) -> bool:
    return not patterns or (value is not None and any(fnmatchcase(value, p) for p in patterns))


def _in_categories(prefixes: list[str], category: str) -> bool:
    return any(category == p or category.startswith(p.rstrip(".") + ".") for p in prefixes)
