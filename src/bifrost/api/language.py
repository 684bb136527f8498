"""The language of an answer: the request's `lang` option, else its `Accept-Language`, else
the server's `BIFROST_LANG`. It decides the Report's words (`bifrost.i18n`) and the language
the LLM is asked to write in; log lines and machine fields never change with it."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from bifrost.i18n import from_accept_language


def language_of(connection: HTTPConnection, asked: str | None = None) -> str:
    """The language to answer `connection` in; `asked` is the request's own `lang` option."""
    if asked is not None:
        return asked
    chosen = from_accept_language(connection.headers.get("accept-language"))
    if chosen is not None:
        return chosen
    lang: str = connection.app.state.services.settings.lang
    return lang


def language_headers(lang: str) -> dict[str, str]:
    """What an answer in `lang` says about it: its language, and that it varies with the ask."""
    return {"Content-Language": lang, "Vary": "Accept-Language"}
