"""Known issues: a person pins a resolution to a finding of a stored analysis, and every
later finding of the same template shows it ("Known issue: …"), in every format. The pin
belongs to the template, which is the same in every log that writes that line."""

from __future__ import annotations

from bifrost.errors import UsageError
from bifrost.store.database import Store
from bifrost.store.known import Pinned, known_issues, pin, unpin
from bifrost.store.records import NotFound
from bifrost.store.repository import get_analysis

__all__ = ["Pinned", "forget_known", "list_known", "pin_known"]

MAX_NOTE = 2000


async def pin_known(
    store: Store, analysis_id: int, finding: str, note: str, link: str | None = None
) -> Pinned:
    """Pin `note` (and `link`) to a finding of a stored analysis: its id (`F2`) or rank (`2`)."""
    note = note.strip()
    if not note or len(note) > MAX_NOTE:
        raise UsageError.said("known.bad_note", most=MAX_NOTE)
    if link is not None and (not link.startswith(("https://", "http://")) or len(link) > 500):
        raise UsageError.said("known.bad_link", link=link)
    stored = await get_analysis(store, analysis_id)
    if stored is None:
        raise NotFound.said("store.no_analysis", id=analysis_id)
    findings = stored.report.findings
    chosen = next((f for f in findings if f.id == finding), None)
    if chosen is None and finding.isdigit() and 1 <= int(finding) <= len(findings):
        chosen = findings[int(finding) - 1]
    if chosen is None:
        ids = ", ".join(f.id for f in findings) or "none"
        raise NotFound.said("known.no_finding", id=analysis_id, finding=finding, ids=ids)
    return await pin(store, chosen.template_id, chosen.title, note, link, analysis_id)


async def list_known(store: Store) -> list[Pinned]:
    return await known_issues(store)


async def forget_known(store: Store, template_id: str) -> None:
    await unpin(store, template_id)
