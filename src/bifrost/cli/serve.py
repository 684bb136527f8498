"""`bifrost serve`: the HTTP API under uvicorn (the `server` extra).

The API stack (FastAPI, uvicorn) and the store are imported when the server starts: the
rest of the CLI starts without them.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import typer

from bifrost.cli.options import Verbose, one_of
from bifrost.cli.output import run
from bifrost.errors import ServiceError, UsageError

if TYPE_CHECKING:
    from bifrost.config import LoadedSettings


ServerLogFormat = Literal["json", "console"]


def serve_command(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", metavar="PORT", min=1, max=65535, help="Port.")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option("--workers", "-w", metavar="N", min=1, max=64, help="Worker processes."),
    ] = 1,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Require API keys (default: on for a non-loopback --host, or BIFROST_AUTH=1).",
        ),
    ] = None,
    log_format: Annotated[
        ServerLogFormat,
        typer.Option(
            "--log-format",
            metavar="FORMAT",
            help=f"Server logs: {one_of(get_args(ServerLogFormat))} "
            "(JSON lines or text for people).",
        ),
    ] = "json",
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            metavar="IPS",
            help="Proxies whose X-Forwarded-For names the client: addresses or networks, "
            "comma-separated, or * (default: none; BIFROST_FORWARDED_ALLOW_IPS).",
        ),
    ] = None,
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            metavar="URL",
            help="Queue analyses on this broker (redis://… or kafka://…) for `bifrost worker` "
            "instead of running them here (BIFROST_QUEUE_URL).",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Serve the HTTP API.

    POST a log to /api/v1/analyses, get the Report. Docs at /docs.
    """
    from bifrost.config import load_settings_with_origins

    def action() -> None:
        if importlib.util.find_spec("uvicorn") is None:  # the optional `server` extra
            raise UsageError("the server is not installed; pip install 'bifrost-logs[server]'")
        from bifrost.api.server import serve, server_config

        loaded = load_settings_with_origins(
            log_format=log_format, forwarded_allow_ips=forwarded_allow_ips, queue_url=queue
        )
        settings = loaded.settings
        _check_proxies(loaded)
        require_keys = auth if auth is not None else settings.auth
        if require_keys is None:
            require_keys = not _is_loopback(host)
        _check_port_free(host, port)
        from bifrost.store import database_url
        from bifrost.store.database import safe_url

        os.environ["BIFROST_AUTH"] = "1" if require_keys else "0"
        os.environ["BIFROST_LOG_FORMAT"] = log_format
        if not settings.session_secret:  # one for every worker: a sign-in holds on any of them
            os.environ["BIFROST_SESSION_SECRET"] = secrets.token_urlsafe(32)
        where = f"http://{_url_host(host)}:{port}"
        say = sys.stderr.write
        say(f"Bifrost API on {where} ({workers} worker{'s' if workers > 1 else ''})\n")
        say(f"  database: {safe_url(database_url(settings))}\n")
        cache = f"redis {safe_url(settings.redis_url)}" if settings.redis_url else "database"
        say(f"  cache: {cache}\n")
        if settings.queue_url:
            say(f"  queue: {safe_url(settings.queue_url)} (analysed by `bifrost worker`)\n")
            os.environ["BIFROST_QUEUE_URL"] = settings.queue_url
        if settings.forwarded_allow_ips:
            say(f"  proxies: {settings.forwarded_allow_ips} (X-Forwarded-For names the client)\n")
        say(
            "  auth: on (X-API-Key required; `bifrost keys create NAME`)\n"
            if require_keys
            else "  auth: off (loopback only; --auth to require API keys)\n"
        )
        say(f"  docs: {where}/docs   metrics: {where}/metrics\n")
        metrics_dir = tempfile.mkdtemp(prefix="bifrost-metrics-") if workers > 1 else None
        if metrics_dir:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
        cause = ""
        try:
            serve(server_config(settings, host=host, port=port, workers=workers))
        except _Stopped as stopped:
            cause = f" ({stopped})"
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        say(f"Bifrost API stopped{cause}; requests in flight were answered\n")

    run(action, verbose=verbose)


class _Stopped(Exception):
    """SIGINT (Ctrl-C) or SIGTERM, named: the server raises the signal again once the
    requests in flight are answered, with one worker or several."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signal.Signals(signum).name)


def _check_proxies(loaded: LoadedSettings) -> None:
    """Addresses or networks, or `*`: uvicorn would take anything else for the name of a peer
    that never connects, and so silently believe no proxy."""
    proxies = loaded.settings.forwarded_allow_ips
    if not proxies or all(_is_network(entry.strip()) for entry in proxies.split(",")):
        return
    where = {
        "flag": "--forwarded-allow-ips",
        "environment": "BIFROST_FORWARDED_ALLOW_IPS",
    }.get(loaded.origins["forwarded_allow_ips"], f"{loaded.file}: forwarded_allow_ips")
    raise UsageError(
        f"{where}: must be IP addresses or networks, comma-separated, or * (got {proxies!r})"
    )


def _is_network(text: str) -> bool:
    try:
        return text == "*" or bool(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _check_port_free(host: str, port: int) -> None:
    """A taken port is one clear line, not a uvicorn traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServiceError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
            ) from None
