"""The uvicorn configuration `bifrost serve` runs the app with (the behaviour of the limits is
tested against real servers in `test_serve.py`)."""

from __future__ import annotations

from bifrost.api.server import Protocol, server_config
from bifrost.config import Settings


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(
        max_header_bytes=4096,
        request_read_timeout_s=7.5,
        keepalive_timeout_s=9,
        max_connections=100,
    )
    config = server_config(settings, host="127.0.0.1", port=8000, workers=2)
    assert config.http is Protocol
    assert config.h11_max_incomplete_event_size == 4096
    assert config.request_read_timeout_s == 7.5
    assert config.timeout_keep_alive == 9
    assert config.limit_concurrency == 101  # uvicorn counts the request's own connection
    assert config.workers == 2


def test_forwarded_headers_are_believed_only_from_configured_proxies() -> None:
    default = server_config(Settings(), host="127.0.0.1", port=8000, workers=1)
    assert default.proxy_headers is False
    behind = Settings(forwarded_allow_ips="10.0.0.0/8,192.0.2.1")
    config = server_config(behind, host="0.0.0.0", port=8000, workers=1)
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == "10.0.0.0/8,192.0.2.1"
