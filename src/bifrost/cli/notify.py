"""`bifrost notify`: the notification destinations, and a sample sent to one of them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import cli_message, run, run_async
from bifrost.errors import UsageError

app = typer.Typer(
    help="Send a sample notification.\n\nWhere notifications go is notify_destinations in "
    "the settings; when, notify_rules.",
    no_args_is_help=True,
)


@app.command("test")
def sample_command(
    destination: Annotated[str, typer.Argument(metavar="DESTINATION", hidden=True)],
    verbose: Verbose = False,
) -> None:
    """Send a sample notification to DESTINATION.

    DESTINATION is a name in notify_destinations. The sample is the bundled training log's
    analysis, marked as a test.
    """

    def action() -> int:
        from bifrost.analysis.notify import send_test
        from bifrost.config import load_settings

        settings = load_settings()
        if destination not in settings.notify_destinations:
            known = ", ".join(sorted(settings.notify_destinations))
            known = known or cli_message("notify.none_configured")
            raise UsageError.said("notify.no_destination", name=repr(destination), known=known)
        delivery = run_async(send_test(settings, destination))
        if delivery.status != "sent":
            print(f"bifrost: error: {destination}: {delivery.error}", file=sys.stderr)
            return 3
        print(cli_message("notify.sample_sent", destination=destination), file=sys.stderr)
        return 0

    run(action, verbose=verbose)
