"""The web UI: pages for people, served by the API's application (`bifrost serve` → `/`).

Server-rendered HTML (Jinja2) with one small script for what only a script can do (progress
while a log is analysed, copy as Markdown); every page works without it. Assets ship in the
package: nothing loads from another site.

- `pages.py`: the routes (analyse, Report, diff, history, dashboard, keys, sign in and out).
- `charts.py`: the dashboard's chart, as SVG geometry.
- `session.py`: the sign-in cookie and the CSRF token.
- `html.py`: templates, the filters that keep log text text, and the security headers.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bifrost.config import Settings
from bifrost.web.pages import router
from bifrost.web.session import Signer


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the pages and their assets to the application."""
    # Without a configured secret (a test, or one process), sessions last as long as it.
    secret = settings.session_secret or secrets.token_urlsafe(32)
    app.state.signer = Signer(secret.encode(), settings.session_hours * 3600)
    app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("bifrost.web", "static")]), name="static")
