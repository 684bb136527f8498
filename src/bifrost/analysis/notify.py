"""Notify the team of an analysis that matches a rule (`notify_rules`): a use case every
front calls once an analysis is done (the API, a worker, `analyze --notify`).

Sending happens in the background and never fails or delays the analysis. The cool-down is
kept in the history database, so replicas and workers share it: the same failure (lead
template, service, environment) goes to a destination once per rule's window, and the next
message says how many repeats were held back meanwhile. Each delivery's outcome (sent or
failed, tries, error) is recorded there too.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future, wait
from datetime import UTC, datetime
from typing import Any, TypeVar

from bifrost.analysis.run import Labels
from bifrost.config import Settings
from bifrost.errors import BifrostError
from bifrost.notify import sender_for
from bifrost.notify.base import Delivery, deliver
from bifrost.notify.message import Notification, notification
from bifrost.notify.rules import failure_key, matches
from bifrost.report import Report
from bifrost.store.database import Store
from bifrost.store.notifications import claim, record
from bifrost.store.records import DEFAULT_TENANT, DEFAULT_TENANT_NAME
from bifrost.store.tenants import tenant_named

__all__ = ["Notifier", "NotifyingThread", "notify_once", "send_test"]

log = logging.getLogger("bifrost.notify")
T = TypeVar("T")
CLOSE_WAIT_S = 30.0


class Notifier:
    """Sends in the background what analyses match; `aclose` waits for what is on its way."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._tenants: dict[str, int] = {DEFAULT_TENANT_NAME: DEFAULT_TENANT}
        self._pending: set[asyncio.Task[object]] = set()

    def submit(
        self,
        report: Report,
        labels: Labels,
        analysis_id: int | None,
        tenant: int = DEFAULT_TENANT,
    ) -> None:
        if not self.settings.notify_rules:
            return
        task = asyncio.create_task(self.notify(report, labels, analysis_id, tenant))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def notify(
        self,
        report: Report,
        labels: Labels,
        analysis_id: int | None,
        tenant: int = DEFAULT_TENANT,
    ) -> dict[str, Delivery | None]:
        """Each destination a matching rule of `tenant` names: its delivery, or None when
        held back by the cool-down."""
        now = datetime.now(UTC)
        outcome: dict[str, Delivery | None] = {}
        scope = None if tenant == DEFAULT_TENANT else tenant
        for rule in self.settings.notify_rules:
            if await self._tenant_id(rule.tenant) != tenant:
                continue
            if not matches(rule, report, labels.service, labels.environment, now):
                continue
            for name in rule.destinations:
                if name in outcome:
                    continue
                key = failure_key(report, labels.service, labels.environment, name, scope)
                try:
                    repeats = await claim(self.store, key, name, rule.cooldown_s, now)
                except BifrostError as exc:  # no history: send, without the cool-down
                    log.warning("notification cool-down unavailable: %s", exc.message)
                    repeats = 0
                if repeats is None:
                    outcome[name] = None
                    continue
                notice = notification(
                    report,
                    analysis_id,
                    service=labels.service,
                    env=labels.environment,
                    tags=labels.tags,
                    public_url=self.settings.public_url,
                    repeats=repeats,
                    at=now,
                )
                outcome[name] = delivery = await self._deliver(name, notice)
                try:
                    await record(
                        self.store, key, delivery.status, delivery.attempts, delivery.error
                    )
                except BifrostError as exc:
                    log.warning("notification outcome not recorded: %s", exc.message)
        return outcome

    async def _tenant_id(self, name: str) -> int | None:
        """The id of the tenant a rule names, looked up once (tenants are never renamed or
        deleted); None while no tenant has that name, so a rule for a tenant created later
        starts to apply without a restart."""
        if name not in self._tenants:
            try:
                self._tenants[name] = (await tenant_named(self.store, name)).id
            except BifrostError as exc:
                log.warning("notification rule for tenant %s skipped: %s", name, exc.message)
                return None
        return self._tenants[name]

    async def _deliver(self, name: str, notice: Notification) -> Delivery:
        destination = self.settings.notify_destinations[name]
        delivery = await deliver(sender_for(destination), notice)
        if delivery.status != "sent":
            log.warning("notification to %s failed: %s", name, delivery.error)
        return delivery

    async def aclose(self, timeout_s: float = CLOSE_WAIT_S) -> None:
        """Wait for the notifications on their way, at most `timeout_s`."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)


async def send_test(settings: Settings, name: str) -> Delivery:
    """A sample notification to one destination (`bifrost notify test NAME`)."""
    from bifrost.analysis.run import analyze  # noqa: PLC0415 — the engine, for this alone

    destination = settings.notify_destinations[name]
    sample = importlib.resources.files("bifrost") / "samples" / "trainer.log"
    report = await asyncio.to_thread(
        analyze, [str(sample)], settings.model_copy(update={"llm": None})
    )
    notice = notification(
        report,
        None,
        service="bifrost",
        env="test",
        tags=(),
        public_url=settings.public_url,
        repeats=0,
        at=datetime.now(UTC),
        test=True,
    )
    return await deliver(sender_for(destination), notice, tries=1)


async def notify_once(
    settings: Settings, report: Report, labels: Labels, analysis_id: int | None
) -> dict[str, Delivery | None]:
    """Notify now and wait for it (`analyze --notify`): what went to each destination."""
    from bifrost.store import open_store  # noqa: PLC0415 — only when notifying

    async with await open_store(settings) as store:
        return await Notifier(settings, store).notify(report, labels, analysis_id)


class NotifyingThread:
    """Notifications from synchronous code (`bifrost watch`): an event loop in a thread of its
    own sends them, so the stream being watched is never held up by a slow destination."""

    def __init__(self, settings: Settings) -> None:
        from bifrost.store import open_store  # noqa: PLC0415 — only when notifying

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._store = self._run(open_store(settings)).result()
        self._notifier = Notifier(settings, self._store)
        self._sent: list[Future[dict[str, Delivery | None]]] = []

    def _run(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def submit(self, report: Report, labels: Labels) -> None:
        self._sent.append(self._run(self._notifier.notify(report, labels, None)))

    def close(self, timeout_s: float = CLOSE_WAIT_S) -> list[Delivery | None]:
        """Wait for what is on its way (at most `timeout_s`); every destination's outcome."""
        done, _ = wait(self._sent, timeout=timeout_s)
        outcomes = [
            d for future in done if not future.exception() for d in future.result().values()
        ]
        self._run(self._store.close()).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        return outcomes
