"""Slack, through the official `slack-sdk`: an incoming webhook (`slack`) or `chat.postMessage`
with a bot token (`slack_api`). The message is Block Kit: the verdict and service, the
summary, the likeliest cause with its first evidence lines and its fix, and a link to the
Report when the web UI's address is known. The SDK's clients are synchronous (standard
library HTTP): they run in a thread."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bifrost.notify.base import DeliveryError, Sender, retry_after, status_error
from bifrost.notify.message import Notification

TIMEOUT_S = 10
_MARK = {
    "failure": ":red_circle:",
    "warning": ":large_yellow_circle:",
    "ok": ":large_green_circle:",
}


def blocks(notice: Notification) -> list[dict[str, Any]]:
    where = " · ".join(part for part in (notice.service, notice.env) if part) or "a log"
    mark = _MARK.get(notice.verdict, ":white_circle:")
    title = f"{mark} {notice.verdict} in {where}" + (" (test)" if notice.test else "")
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _plain(notice.summary)[:2900]}},
    ]
    if notice.lead is not None:
        lead = notice.lead
        lines = "\n".join(f"{line.line}: {line.text}" for line in lead.evidence)
        text = f"*{_plain(lead.title)}* ({lead.severity}, `{lead.category}`)"
        if lines:
            text += f"\n```{lines.replace('```', 'ʼʼʼ')[:2500]}```"
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        if lead.fix:
            fix = {"type": "mrkdwn", "text": f"*Fix:* {_plain(lead.fix)[:2900]}"}
            out.append({"type": "context", "elements": [fix]})
    if notice.repeats:
        again = f"The same failure {notice.repeats} more time(s) since the last message."
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": again}]})
    if notice.url:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open the Report"},
            "url": notice.url,
        }
        out.append({"type": "actions", "elements": [button]})
    return out


def fallback(notice: Notification) -> str:
    """The text notifications and screen readers show."""
    return f"{notice.verdict}: {notice.summary}"[:3000]


def _plain(text: str) -> str:
    """Log text as Slack shows it: no mentions, no links, no formatting it did not write."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackWebhook(Sender):
    def __init__(self, url: str) -> None:
        self.client = WebhookClient(url, timeout=TIMEOUT_S)

    async def send(self, notice: Notification) -> None:
        try:
            answer = await asyncio.to_thread(
                self.client.send, text=fallback(notice), blocks=blocks(notice)
            )
        except OSError as exc:
            raise DeliveryError(f"cannot reach Slack: {exc}", retry=True) from exc
        if answer.status_code != 200:
            wait = retry_after(_header(answer.headers, "retry-after"))
            raise status_error(answer.status_code, str(answer.body), wait)


class SlackApi(Sender):
    def __init__(self, token: str, channel: str, api_url: str) -> None:
        self.client = WebClient(token=token, base_url=api_url, timeout=TIMEOUT_S)
        self.channel = channel

    async def send(self, notice: Notification) -> None:
        try:
            await asyncio.to_thread(
                self.client.chat_postMessage,
                channel=self.channel,
                text=fallback(notice),
                blocks=blocks(notice),
                unfurl_links=False,
            )
        except SlackApiError as exc:
            response = exc.response
            wait = retry_after(_header(response.headers, "retry-after"))
            if response.status_code == 200:  # {"ok": false, "error": "channel_not_found"}
                raise DeliveryError(f"Slack: {response.get('error')}", retry=False) from exc
            raise status_error(response.status_code, str(response.data), wait) from exc
        except OSError as exc:
            raise DeliveryError(f"cannot reach Slack: {exc}", retry=True) from exc


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None
