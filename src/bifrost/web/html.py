"""Pages as HTML: the Jinja2 environment, the filters that make log text safe to show, and the
response every page goes out in (security headers, the CSRF cookie).

Autoescaping is on for every template, so a log line or a label is always text: `<script>`
shows as `<script>`. Control characters (ANSI colour codes, NUL) are shown as their visible
symbols (`␛[31m`), never passed to the browser. A page's Content-Security-Policy allows this
server's own scripts, styles and images and nothing inline; `api/middleware.py` adds the
other security headers to every answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bifrost import __version__
from bifrost.api.language import language_headers, language_of
from bifrost.i18n import translated
from bifrost.render.chart import svg_chart
from bifrost.report import Metric
from bifrost.web.session import CSRF_FIELD, csrf_token, keep_csrf

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    # With no referrer a browser sends `Origin: null` with a form, which the API's origin
    # check must refuse; same-origin still tells other sites nothing.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry a CSRF token and private data
}
_VISIBLE = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)} | {0x7F: 0x2421}
"""Control characters but tab and newline → their symbols in Unicode's Control Pictures."""


@dataclass(frozen=True)
class Line:
    """One log line as a page shows it: its number in the input and its text."""

    number: int
    text: str


def visible(text: str) -> str:
    """Control characters as their visible symbols (U+2400…): `\\x1b` becomes `␛`."""
    return text.translate(_VISIBLE)


def numbered(text: str, first: int) -> list[Line]:
    """The lines of an evidence block, numbered from `first`."""
    return [Line(first + i, line) for i, line in enumerate(text.split("\n"))]


def chart(metric: Metric) -> Markup:
    """A training metric's SVG chart, inline (`svg_chart` escapes the only text it holds)."""
    return Markup(svg_chart(metric))  # numbers, and text svg_chart escaped


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bifrost.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    env.globals["numbered"] = numbered
    env.globals["chart"] = chart
    env.globals["version"] = __version__
    env.globals["csrf_field"] = CSRF_FIELD
    return env


def page(
    request: Request, template: str, context: Mapping[str, object], status: int = 200
) -> HTMLResponse:
    """A page, with the security headers, and the CSRF token its forms carry."""
    lang = language_of(request)

    def say(text: str, **fields: object) -> str:
        return translated(text, lang, **fields)

    html = (
        environment()
        .get_template(template)
        .render(request=request, csrf=csrf_token(request), lang=lang, _=say, **context)
    )
    headers = {**PAGE_HEADERS, **language_headers(lang)}
    response = HTMLResponse(html, status_code=status, headers=headers)
    keep_csrf(request, response)
    return response
