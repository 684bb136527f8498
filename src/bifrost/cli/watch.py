"""`bifrost watch`: follow a live log and report new error kinds and bursts as they happen."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, get_args

import typer

from bifrost.choices import ProviderName
from bifrost.cli.options import NoColor, Verbose, one_of
from bifrost.cli.output import INTERRUPTED, cli_message, run
from bifrost.errors import InputError

if TYPE_CHECKING:
    from bifrost.analysis.notify import NotifyingThread
    from bifrost.analysis.watch import Alert, Watcher
    from bifrost.config import Settings


_POLL_S = 0.25


def watch_command(
    path: Annotated[str | None, typer.Argument(metavar="PATH", hidden=True)] = None,
    follow: Annotated[  # -F, as `tail -F`: -f is --format in every command
        bool, typer.Option("--follow", "-F", help="Keep reading the file as it grows (tail -f).")
    ] = False,
    burst: Annotated[
        int,
        typer.Option(
            "--burst", metavar="N", min=2, help="Occurrences within --window that are a burst."
        ),
    ] = 20,
    window: Annotated[
        float, typer.Option("--window", metavar="SECONDS", help="Burst window in seconds.")
    ] = 10.0,
    llm: Annotated[
        ProviderName | None,
        typer.Option(
            "--llm",
            metavar="PROVIDER",
            help="Explain each new kind of error with an LLM, once each: "
            f"{one_of(get_args(ProviderName))}.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", metavar="MODEL", help="The LLM's model.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", metavar="URL", help="The LLM provider's server.")
    ] = None,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify", help="Tell the destinations of the matching notify_rules of each alert."
        ),
    ] = False,
    service: Annotated[
        str | None, typer.Option("--service", metavar="NAME", help="Service label (rules).")
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", metavar="NAME", help="Environment label (rules).")
    ] = None,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """Follow a live log: new kinds of error, and bursts.

    Reads PATH, a log file, or standard input when PATH is '-' or missing. Reports each new
    kind of error once, and a known one again when it bursts, until the input ends. Ctrl-C
    stops it cleanly with a summary.
    """
    from rich.text import Text

    from bifrost.analysis import Labels
    from bifrost.analysis.watch import Watcher, alert_report, watch
    from bifrost.cli.console import console
    from bifrost.config import load_settings

    def action() -> int:
        out = console(no_color=no_color)
        watcher = Watcher(burst_count=burst, burst_window_s=window)
        settings = load_settings(llm=llm, model=model, base_url=base_url)

        notifier = _notifier(settings) if notify else None
        labels = Labels(service=service, environment=env)

        def show(alert: Alert) -> None:
            style = "bold red" if alert.kind == "new" else "yellow"
            if alert.kind == "new":
                label = cli_message("watch.new")
            else:
                label = cli_message("watch.burst", count=alert.count)
            where = cli_message("position.line", line=alert.line)
            out.print(Text.assemble((f"[{label}] ", style), (f"{where}: ", "dim"), alert.title))
            out.print(Text(f"    {alert.text}", style="dim"), overflow="fold")
            if alert.kind == "new" and settings.llm:  # once per template: new fires once
                out.print(Text(f"    {_explained(alert, watcher, settings)}"), overflow="fold")
            sys.stdout.flush()
            if notifier is not None:  # sent in the background; the cool-down stops storms
                notifier.submit(alert_report(alert, watcher), labels)

        code = 0
        try:
            watch(_lines(path, follow), watcher, show)
        except KeyboardInterrupt:  # the summary, then the exit code of any interrupted command
            out.print(Text(cli_message("watch.stopped"), style="dim"))
            code = INTERRUPTED
        summary = watcher.summary()
        lines_read = cli_message("watch.summary", lines=f"{watcher.lines:,}", kinds=len(summary))
        out.print(Text(lines_read, style="dim"))
        for template, count in summary[:10]:
            out.print(Text(f"  ×{count:<6} {template}", style="dim"))
        if notifier is not None:
            outcomes = notifier.close()
            sent = sum(1 for d in outcomes if d is not None and d.status == "sent")
            failed = sum(1 for d in outcomes if d is not None and d.status != "sent")
            held = sum(1 for d in outcomes if d is None)
            said = cli_message("notify.summary", sent=sent, held=held, failed=failed)
            print(f"bifrost: {said}", file=sys.stderr)
        return code

    run(action, verbose=verbose)


def _notifier(settings: Settings) -> NotifyingThread:
    from bifrost.analysis.notify import NotifyingThread
    from bifrost.errors import UsageError

    if not settings.notify_rules:
        raise UsageError.said("usage.no_notify_rules")
    return NotifyingThread(settings)


def _explained(alert: Alert, watcher: Watcher, settings: Settings) -> str:
    """The LLM's one-line diagnosis of a new alert; a failure is said, not raised."""
    import asyncio

    from bifrost.analysis.explain import explain_report
    from bifrost.analysis.watch import alert_report

    report, problem = asyncio.run(explain_report(alert_report(alert, watcher), settings))
    if problem is not None or report.llm is None:
        problem = problem or cli_message("watch.provider_gave_none")
        return cli_message("watch.no_explanation", problem=problem)
    return f"→ {report.llm.root_cause or report.llm.summary}"


def _lines(path: str | None, follow: bool) -> Iterator[bytes]:
    if path in (None, "-"):
        yield from sys.stdin.buffer
        return
    file = Path(path)
    if not file.is_file():
        raise InputError.said("input.no_such_file", name=path)
    with file.open("rb") as stream:
        while True:
            line = stream.readline()
            if line.endswith(b"\n"):
                yield line
            elif not follow:
                if line:
                    yield line
                return
            else:  # a partial or no line yet: wait for the writer
                stream.seek(stream.tell() - len(line))
                time.sleep(_POLL_S)
