"""Notifications: a message in the team's channel, or a signed webhook, when an analysis
matches a rule (`notify_rules`, `notify_destinations` in the settings).

- `rules.py`: which rules an analysis matches, and what makes two failures "the same".
- `message.py`: the message (`bifrost.notification/v1`), its log text redacted as LLM input is.
- `base.py`: a destination's sender, and delivery with retries.
- `slack.py`, `webhook.py`: one file per kind of destination.

The application layer (`analysis/notify.py`) decides when to send and keeps the cool-down.
"""

from pydantic import SecretStr

from bifrost.config import NotifyDestination
from bifrost.notify.base import Sender


def sender_for(destination: NotifyDestination) -> Sender:
    """The sender of a configured destination (its secrets read here, sent nowhere else)."""
    from bifrost.notify.slack import SlackApi, SlackWebhook  # noqa: PLC0415 — slack-sdk
    from bifrost.notify.webhook import SignedWebhook  # noqa: PLC0415

    def secret(value: SecretStr | None) -> str:
        assert value is not None  # NotifyDestination checks what each kind needs
        return value.get_secret_value()

    if destination.kind == "slack":
        return SlackWebhook(secret(destination.url))
    if destination.kind == "slack_api":
        assert destination.channel is not None
        return SlackApi(secret(destination.token), destination.channel, destination.api_url)
    return SignedWebhook(secret(destination.url), secret(destination.secret))
