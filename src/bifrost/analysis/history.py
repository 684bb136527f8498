"""The history's use cases: the filter a front's search fields describe (read one way for
all), forgetting an analysis, feedback, and export.

Times come as people type them (`30m`, `12h`, `7d`, `2w` ago, or a date); one beyond what a
datetime holds (`99999999w`) is the earliest or the latest there is, which selects the same
analyses. The store (and SQLAlchemy) is imported only when a filter is built.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bifrost.analysis.tracking import track_feedback
from bifrost.config import Settings
from bifrost.errors import UsageError
from bifrost.i18n import DEFAULT_LANGUAGE, signature_texts
from bifrost.times import parse_when

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from bifrost.cache import Cache
    from bifrost.choices import ExportFormat
    from bifrost.report import SimilarIncident
    from bifrost.store import HistoryFilter, Store

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def title_in(title: str | None, lang: str) -> str | None:
    """A finding's title as the history keeps it (English) in `lang`: the knowledge base's
    titles are translated; a title the log wrote stays as it is."""
    if title is None or lang == DEFAULT_LANGUAGE:
        return title
    text = signature_texts(lang).get(_signatures_by_title().get(title, ""))
    return text.title if text else title


@functools.cache
def _signatures_by_title() -> dict[str, str]:
    from bifrost.engine.signatures import load_signatures  # noqa: PLC0415 — another language only

    return {signature.title: signature.id for signature in load_signatures()}


class BadTime(UsageError):
    """A search time that cannot be read; `field` is `since` or `until`. Its words are those
    of the error `said` that explains why (and their translations)."""

    def __init__(self, field: str, text: str, said: UsageError) -> None:
        super().__init__(said.message, key=said.key, fields=said.fields)
        self.field = field
        self.text = text


def history_filter(
    *,
    query: str | None = None,
    service: str | None = None,
    environment: str | None = None,
    tag: str | None = None,
    category: str | None = None,
    verdict: str | None = None,
    since: str | None = None,
    until: str | None = None,
    provider: str | None = None,
    now: datetime | None = None,
) -> HistoryFilter:
    """The filter the fields describe; a time that cannot be read raises `BadTime`."""
    from bifrost.store import HistoryFilter  # noqa: PLC0415 — see the module docstring

    now = now or datetime.now(UTC)
    return HistoryFilter(
        query=query,
        service=service,
        environment=environment,
        tag=tag,
        category=category,
        verdict=verdict,
        since=_moment("since", since, now),
        until=_moment("until", until, now),
        provider=provider,
    )


def _moment(field: str, text: str | None, now: datetime) -> datetime | None:
    """The instant `text` names, in UTC; None for no limit."""
    if not text:
        return None
    try:
        moment = parse_when(text, now)
    except UsageError as exc:
        raise BadTime(field, text, exc) from None
    except OverflowError:  # so long ago that subtracting it leaves the calendar
        return _EARLIEST
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if moment.year == 1 else _LATEST


async def forget(store: Store, cache: Cache, analysis_id: int) -> None:
    """Delete a stored analysis with its findings, feedback and input, and its cache entry
    (`NotFound` when there is no such analysis)."""
    from bifrost.store import delete_analysis  # noqa: PLC0415 — see the module docstring

    key = await delete_analysis(store, analysis_id)
    if key is not None:
        await cache.discard(key)


async def give_feedback(
    store: Store, analysis_id: int, good: bool, note: str | None, settings: Settings
) -> None:
    """Keep whether an analysis was right, and why (`NotFound` when there is none); with
    MLflow tracking, the analysis's run gets it too."""
    from bifrost.store import add_feedback  # noqa: PLC0415

    await add_feedback(store, analysis_id, good, note)
    track_feedback(settings, analysis_id, good, note)


async def similar_to(store: Store, analysis_id: int, settings: Settings) -> list[SimilarIncident]:
    """The stored analyses of the same failure as analysis `analysis_id` (`NotFound` when
    there is none), most alike first."""
    from bifrost.analysis.run import InStore  # noqa: PLC0415
    from bifrost.analysis.similar import meaning_of, similar_incidents  # noqa: PLC0415
    from bifrost.store import NotFound, get_analysis  # noqa: PLC0415

    stored = await get_analysis(store, analysis_id)
    if stored is None:
        raise NotFound.said("store.no_analysis", id=analysis_id)
    meaning = await asyncio.to_thread(meaning_of, stored.report, settings)
    return await similar_incidents(InStore(store), stored.report, meaning)


def export_rows(store: Store, filters: HistoryFilter, fmt: ExportFormat) -> AsyncGenerator[str]:
    """Every matching analysis as CSV, JSON or JSONL text, a piece at a time, newest first
    (close it with `contextlib.aclosing` when stopping early)."""
    from bifrost.store.export import export_text  # noqa: PLC0415

    return export_text(store, filters, fmt)
