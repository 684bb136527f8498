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
from bifrost.cli.output import cli_counted, cli_message, run
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
            raise UsageError.said("extra.server")
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
        sys.stderr.write(
            cli_message("serve.started", where=where, workers=cli_counted(workers, "worker")) + "\n"
        )

        def say(line: str) -> None:
            sys.stderr.write(f"  {line}\n")  # under the first line, indented

        say(cli_message("serve.database", url=safe_url(database_url(settings))))
        if settings.redis_url:
            say(cli_message("serve.cache_redis", url=safe_url(settings.redis_url)))
        else:
            say(cli_message("serve.cache_database"))
        if settings.queue_url:
            say(cli_message("serve.queue", url=safe_url(settings.queue_url)))
            os.environ["BIFROST_QUEUE_URL"] = settings.queue_url
        if settings.forwarded_allow_ips:
            say(cli_message("serve.proxies", proxies=settings.forwarded_allow_ips))
        say(cli_message("serve.auth_on") if require_keys else cli_message("serve.auth_off"))
        say(cli_message("serve.docs", docs=f"{where}/docs", metrics=f"{where}/metrics"))
        metrics_dir = tempfile.mkdtemp(prefix="bifrost-metrics-") if workers > 1 else None
        if metrics_dir:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
        stopped_by = ""
        try:
            serve(server_config(settings, host=host, port=port, workers=workers))
        except _Stopped as stopped:
            stopped_by = str(stopped)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        if stopped_by:
            stopped_line = cli_message("serve.stopped_by", signal=stopped_by)
        else:
            stopped_line = cli_message("serve.stopped")
        sys.stderr.write(stopped_line + "\n")

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
    raise UsageError.said("serve.bad_proxies", where=where, proxies=repr(proxies))


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
            raise ServiceError.said(
                "serve.port_taken", host=host, port=port, reason=exc.strerror
            ) from None
