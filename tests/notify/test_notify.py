"""Notifications sent to real HTTP servers on loopback that answer as Slack (incoming webhook,
Web API) and a webhook receiver would: who is told of what, signed bodies a receiver can
verify, secrets that never leave, the cool-down, retries after 429 and 5xx, and the fronts
(the API in the background, `analyze --notify`, `notify test`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bifrost.analysis import Labels, analyze_sources, open_cache
from bifrost.analysis.inputs import Source
from bifrost.analysis.notify import Notifier
from bifrost.analysis.tenants import create_tenant
from bifrost.config import NotifyRule, Settings
from bifrost.notify import base
from bifrost.notify.rules import failure_key, matches
from bifrost.notify.webhook import verify
from bifrost.report import Report
from bifrost.store import create_key, open_store
from bifrost.store.notifications import claim, delivery
from bifrost.worker.consumer import Context, handle
from tests.api.conftest import serving
from tests.notify.receiver import HOOK, SLACK_API, SLACK_WEBHOOK, Answer, Receiver
from tests.test_schemas import assert_valid

ROOT = Path(__file__).parents[2]
SECRET = "whsec-test-0123456789"
PLANTED = ["S3cr3t-P4ssw0rd!", "ghp_aB3dE6gH9jK2mN5pQ8rS1tU4vW7xY0zC3eF6", "AKIAIOSFODNN7EXAMPLE"]
LEAKY = "".join(
    f"2024-05-01 12:00:0{i} ERROR db connect failed: password={PLANTED[0]} "
    f"token={PLANTED[1]} key={PLANTED[2]}\n"
    for i in range(3)
)


def report_of(text: str) -> Report:
    return analyze_sources([Source(name="ci.log", path=None, data=text.encode())], Settings())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "FIRST_PAUSE_S", 0.01)  # a pacing setting, not our logic


def settings_for(receiver: Receiver, tmp_path: Path, **rule: Any) -> Settings:
    return Settings.model_validate(
        {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'history.db'}",
            "engine_processes": 0,
            "public_url": "https://bifrost.example.com/",
            "notify_destinations": {
                "hook": {"kind": "webhook", "url": receiver.url + HOOK, "secret": SECRET},
                "team": {"kind": "slack", "url": receiver.url + SLACK_WEBHOOK},
                "bot": {
                    "kind": "slack_api",
                    "token": "xoxb-test",
                    "channel": "#ci",
                    "api_url": receiver.url + SLACK_API,
                },
            },
            "notify_rules": [{"destinations": ["hook"], **rule}],
        }
    )


def notify(settings: Settings, report: Report, labels: Labels) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with await open_store(settings) as store:
            return await Notifier(settings, store).notify(report, labels, 7)

    return asyncio.run(main())


def test_rules_choose_by_verdict_severity_labels_and_categories() -> None:
    failing = report_of(LEAKY)
    now = datetime.now(UTC)

    def rule(**fields: Any) -> NotifyRule:
        return NotifyRule.model_validate({"destinations": ["hook"], **fields})

    assert matches(rule(), failing, "api", "prod", now)
    assert not matches(rule(verdicts=["ok"]), failing, "api", "prod", now)
    assert matches(rule(verdicts=[], severity="error"), failing, "api", "prod", now)
    assert not matches(rule(verdicts=[], severity="critical"), failing, "api", "prod", now)
    assert matches(rule(services=["api*"]), failing, "api-eu", None, now)
    assert not matches(rule(services=["web"]), failing, "api", None, now)
    assert not matches(rule(services=["api"]), failing, None, None, now)
    assert not matches(rule(envs=["prod"]), failing, "api", "staging", now)
    category = failing.findings[0].category.split(".")[0]
    assert matches(rule(categories=[category]), failing, None, None, now)
    assert not matches(rule(categories=["gpu"]), failing, None, None, now)
    assert not matches(rule(muted_until=now + timedelta(hours=1)), failing, None, None, now)
    healthy = report_of("2024-05-01 12:00:00 INFO all good\n")
    assert not matches(rule(), healthy, None, None, now)


def test_a_webhook_is_signed_and_carries_no_secret(receiver: Receiver, tmp_path: Path) -> None:
    settings = settings_for(receiver, tmp_path)
    sent = notify(settings, report_of(LEAKY), Labels(service="api", environment="prod"))
    assert sent["hook"].status == "sent"
    (got,) = receiver.at(HOOK)
    timestamp, signed = got.headers["x-bifrost-timestamp"], got.headers["x-bifrost-signature"]
    assert verify(SECRET, got.raw, timestamp, signed)
    assert not verify(SECRET, got.raw + b" ", timestamp, signed)  # tampered
    assert not verify("another-secret", got.raw, timestamp, signed)
    assert not verify(SECRET, got.raw, timestamp, signed, now=time.time() + 3600)  # replayed
    body = got.json
    assert_valid("notification.v1.schema.json", body)
    assert (body["verdict"], body["service"], body["env"]) == ("failure", "api", "prod")
    assert body["url"] == "https://bifrost.example.com/analyses/7"
    assert body["lead"]["evidence"][0]["line"] == 1
    for planted in PLANTED:
        assert planted not in got.raw.decode()


def test_slack_gets_block_kit_by_webhook_and_by_the_web_api(
    receiver: Receiver, tmp_path: Path
) -> None:
    settings = settings_for(receiver, tmp_path)
    rules = [NotifyRule(destinations=["team", "bot"])]
    settings = settings.model_copy(update={"notify_rules": rules})
    sent = notify(settings, report_of(LEAKY), Labels(service="api"))
    assert {name: d.status for name, d in sent.items()} == {"team": "sent", "bot": "sent"}
    (hooked,) = receiver.at(SLACK_WEBHOOK)
    (posted,) = receiver.at(SLACK_API + "chat.postMessage")
    assert posted.headers["authorization"] == "Bearer xoxb-test"
    for message in (hooked.json, posted.json):
        blocks = message["blocks"]
        assert blocks[0]["type"] == "header"
        assert "failure in api" in blocks[0]["text"]["text"]
        assert blocks[-1]["elements"][0]["url"] == "https://bifrost.example.com/analyses/7"
        for planted in PLANTED:
            assert planted not in json.dumps(message)
    assert posted.json["channel"] == "#ci"


def test_the_same_failure_is_sent_once_per_cool_down(receiver: Receiver, tmp_path: Path) -> None:
    settings = settings_for(receiver, tmp_path, cooldown_s=3600)
    report = report_of(LEAKY)
    first = notify(settings, report, Labels(service="api"))
    again = notify(settings, report, Labels(service="api"))
    other = notify(settings, report, Labels(service="web"))  # another service: its own
    assert first["hook"].status == "sent"
    assert again == {"hook": None}
    assert other["hook"].status == "sent"
    assert len(receiver.at(HOOK)) == 2

    async def window() -> list[int | None]:
        async with await open_store(settings) as store:
            start = datetime(2026, 1, 1, tzinfo=UTC)
            claims = [
                claim(store, "k", "hook", 60, start + timedelta(seconds=s))
                for s in (0, 10, 20, 61, 62)
            ]
            return [await c for c in claims]

    assert asyncio.run(window()) == [0, None, None, 2, None]  # 2 repeats held back, then told


@pytest.mark.usefixtures("fast_retries")
def test_429_and_5xx_are_tried_again_then_given_up_and_recorded(
    receiver: Receiver, tmp_path: Path
) -> None:
    settings = settings_for(receiver, tmp_path, cooldown_s=0)
    receiver.answer(HOOK, Answer(429, {"Retry-After": "1"}), Answer(200))
    started = time.monotonic()
    sent = notify(settings, report_of(LEAKY), Labels(service="api"))
    assert (sent["hook"].status, sent["hook"].attempts) == ("sent", 2)
    assert time.monotonic() - started >= 1  # Retry-After was respected
    receiver.answer(HOOK, *[Answer(503)] * base.TRIES)
    failed = notify(settings, report_of(LEAKY), Labels(service="api"))
    assert (failed["hook"].status, failed["hook"].attempts) == ("failed", base.TRIES)
    receiver.answer(HOOK, Answer(400, body=b"bad request"))
    refused = notify(settings, report_of(LEAKY), Labels(service="api"))
    assert (refused["hook"].status, refused["hook"].attempts) == ("failed", 1)  # not retried

    async def recorded() -> Any:
        async with await open_store(settings) as store:
            return await delivery(store, failure_key(report_of(LEAKY), "api", None, "hook"))

    status, attempts, error, _ = asyncio.run(recorded())
    assert (status, attempts) == ("failed", 1)
    assert "HTTP 400" in error


def test_the_api_notifies_in_the_background(receiver: Receiver, tmp_path: Path) -> None:
    settings = settings_for(receiver, tmp_path).model_copy(update={"auth": False})

    async def main() -> None:
        async with serving(settings) as c:
            answer = await c.post("/api/v1/analyses", params={"service": "api"}, content=LEAKY)
            assert answer.status_code == 201
        # Leaving the lifespan waited for the notification on its way.
        (got,) = receiver.at(HOOK)
        assert got.json["analysis_id"] == int(answer.headers["x-bifrost-analysis-id"])

    asyncio.run(main())


def test_each_tenant_is_told_by_its_own_rules(receiver: Receiver, tmp_path: Path) -> None:
    rules = [
        NotifyRule(destinations=["hook"]),  # the default tenant's
        NotifyRule(destinations=["team"], tenant="team-a", cooldown_s=0),
        NotifyRule(destinations=["bot"], tenant="nobody-yet"),
    ]
    update = {"notify_rules": rules, "auth": True}
    settings = settings_for(receiver, tmp_path).model_copy(update=update)

    async def main() -> None:
        async with await open_store(settings) as store:
            team = await create_tenant(store, "team-a")
            _, team_key = await create_key(store.for_tenant(team.id), "ci", ["analyze"])
            _, own_key = await create_key(store, "ops", ["analyze"])
        async with serving(settings) as c:
            for key, service in ((team_key, "web"), (own_key, "api"), (team_key, "web")):
                answer = await c.post(
                    "/api/v1/analyses",
                    params={"service": service},
                    content=LEAKY,
                    headers={"X-API-Key": key},
                )
                assert answer.status_code in (200, 201)  # 200: the same log, from the cache

    asyncio.run(main())
    assert [got.json["service"] for got in receiver.at(HOOK)] == ["api"]
    assert len(receiver.at(SLACK_WEBHOOK)) == 2  # team-a's two, its rule has no cool-down
    assert receiver.at(SLACK_API) == []  # no tenant of that name: the rule waits for one


def test_the_cool_down_of_one_tenant_does_not_hold_back_another() -> None:
    report = report_of(LEAKY)
    default = failure_key(report, "api", None, "hook")
    assert failure_key(report, "api", None, "hook", None) == default
    assert failure_key(report, "api", None, "hook", 2) != default
    assert failure_key(report, "api", None, "hook", 2) != failure_key(
        report, "api", None, "hook", 3
    )


def cli(receiver: Receiver, tmp_path: Path) -> Any:
    """`bifrost ARGS` in a process of its own, with the test's destinations and one rule."""
    settings = settings_for(receiver, tmp_path)
    config = tmp_path / "bifrost.toml"
    destinations = {
        name: {
            k: (v.get_secret_value() if hasattr(v, "get_secret_value") else v)
            for k, v in d.model_dump(exclude_none=True).items()
        }
        for name, d in settings.notify_destinations.items()
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    env |= {
        "BIFROST_CONFIG": str(config),
        "BIFROST_DATABASE_URL": settings.database_url or "",
        "BIFROST_NOTIFY_DESTINATIONS": json.dumps(destinations),
        "BIFROST_NOTIFY_RULES": json.dumps([{"destinations": ["hook"]}]),
    }
    config.write_text("", encoding="utf-8")

    def bifrost(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bifrost", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    return bifrost


def test_the_cli_notifies_and_sends_a_sample(receiver: Receiver, tmp_path: Path) -> None:
    bifrost = cli(receiver, tmp_path)
    log = tmp_path / "ci.log"
    log.write_text(LEAKY, encoding="utf-8")

    analysed = bifrost("analyze", str(log), "--notify", "--service", "api", "-q")
    assert "notification to hook: sent" in analysed.stderr, analysed.stderr
    again = bifrost("analyze", str(log), "--notify", "--service", "api", "-q")
    assert "notification to hook: held back" in again.stderr
    sample = bifrost("notify", "test", "team")
    assert sample.returncode == 0, sample.stderr
    (slack,) = receiver.at(SLACK_WEBHOOK)
    assert "(test)" in slack.json["blocks"][0]["text"]["text"]
    unknown = bifrost("notify", "test", "nowhere")
    assert unknown.returncode == 2
    assert "no destination 'nowhere'" in unknown.stderr
    assert len(receiver.at(HOOK)) == 1


def test_a_worker_notifies_once_per_request(receiver: Receiver, tmp_path: Path) -> None:
    """A redelivered request (answered from the history) tells nobody again."""
    settings = settings_for(receiver, tmp_path, cooldown_s=0)
    body = json.dumps(
        {"schema": "bifrost.request/v1", "request_id": "r-1", "source": "ci", "log": LEAKY}
    ).encode()

    async def main() -> None:
        async with await open_store(settings) as store:
            notifier = Notifier(settings, store)
            context = Context(settings, store, open_cache(settings, store), notifier=notifier)
            first = await handle(body, 1, context)
            again = await handle(body, 2, context)
            await notifier.aclose()
        assert first.result is not None
        assert again.result is not None
        assert again.result.cached

    asyncio.run(main())
    (got,) = receiver.at(HOOK)
    assert got.json["verdict"] == "failure"


def test_watch_notifies_each_new_kind_of_error_once(receiver: Receiver, tmp_path: Path) -> None:
    """Each new kind of error is one message, however often it recurs; watching the same
    failures again within the cool-down sends nothing more."""
    lines = ["2024-05-01 12:00:00 INFO starting\n"]
    lines += [f"2024-05-01 12:00:01 ERROR payment {i} declined by gateway\n" for i in range(30)]
    lines += ["2024-05-01 12:00:02 ERROR disk /var is full\n"]
    log = tmp_path / "live.log"
    log.write_text("".join(lines), encoding="utf-8")
    bifrost = cli(receiver, tmp_path)
    watched = bifrost("watch", str(log), "--notify", "--service", "shop")
    assert watched.returncode == 0, watched.stderr
    assert "notifications: 2 sent, 0 held back, 0 failed" in watched.stderr, watched.stderr
    assert [got.json["service"] for got in receiver.at(HOOK)] == ["shop", "shop"]
    again = bifrost("watch", str(log), "--notify", "--service", "shop")
    assert "notifications: 0 sent, 2 held back, 0 failed" in again.stderr, again.stderr
    assert len(receiver.at(HOOK)) == 2
