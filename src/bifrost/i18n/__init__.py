"""Bifrost in the reader's language: English, the source, and Korean.

What is translated: what Bifrost writes for people, namely the knowledge base's titles,
explanations and fixes, the Report's summary, and the words of the terminal and Markdown
reports. What never is: log lines, and the Report's machine fields (ids, categories,
severities, verdicts, template ids), so that a tool reading the JSON need not care which
language a person asked for.

The texts are catalogs beside this module, one folder per language: `messages.json` (message
id → text with `{name}` fields; `count.*` in `.one` and `.other` forms), `web.json` (the web
UI's sentences, by their English text) and one YAML file per knowledge-base file (signature
id → title, explanation, suggestion). English signature texts
are the knowledge base itself. Messages are JSON so that an English run reads them without
loading a YAML parser (`bifrost analyze` on a small log takes milliseconds). Another language
is another folder; `tests/test_i18n.py` says what it lacks.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final, get_args

from bifrost.choices import Language

LANGUAGES: Final[tuple[str, ...]] = get_args(Language)
DEFAULT_LANGUAGE: Final = "en"
NAMES: Final = {"en": "English", "ko": "한국어 (Korean)"}
_TAG = re.compile(r"([a-zA-Z]{2,3})(?:[-_][\w.-]*)?")


@dataclass(frozen=True)
class SignatureText:
    """A signature's words in one language; None where the knowledge base has none."""

    title: str
    explanation: str | None = None
    suggestion: str | None = None


def language(asked: str) -> str:
    """The language a user named: `ko`, `ko-KR`, `ko_KR.UTF-8`, `KO` all mean Korean;
    ValueError for one Bifrost does not speak."""
    found = _TAG.fullmatch(asked.strip())
    code = found[1].lower() if found else ""
    if code not in LANGUAGES:
        raise ValueError(f"choose one of {', '.join(LANGUAGES)}")
    return code


def from_accept_language(header: str | None) -> str | None:
    """The first language of an `Accept-Language` header Bifrost speaks, by the client's
    weights; None when it names none (the server's own language applies)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        found = _TAG.fullmatch(tag.strip())
        if found and weight > 0 and found[1].lower() in LANGUAGES:
            ranked.append((-weight, order, found[1].lower()))
    return min(ranked)[2] if ranked else None


def message(key: str, lang: str, /, **fields: object) -> str:
    """The message `key` in `lang`, its `{name}` fields filled in."""
    return _messages(lang)[key].format(**fields)


def counted(count: int, noun: str, lang: str, /, **fields: object) -> str:
    """`"1 finding"`, `"3 findings"`, `"발견 3건"`: the `count.NOUN` message for `count`."""
    form = "one" if count == 1 else "other"
    return message(f"count.{noun}.{form}", lang, n=f"{count:,}", **fields)


def translated(text: str, lang: str, /, **fields: object) -> str:
    """A sentence of the web UI in `lang`: the English sentence is its own id (as in gettext),
    so the templates read as English; `{name}` fields are filled in after translating."""
    if lang != DEFAULT_LANGUAGE:
        text = _sentences(lang).get(text, text)
    return text.format(**fields) if fields else text


def sentences(lang: str) -> Mapping[str, str]:
    """Every sentence of the web UI translated into `lang`, by its English text."""
    return _sentences(lang)


@functools.cache
def _sentences(lang: str) -> dict[str, str]:
    if lang == DEFAULT_LANGUAGE:
        return {}
    loaded = json.loads(_folder(lang).joinpath("web.json").read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in loaded.items()}


def messages(lang: str) -> Mapping[str, str]:
    """Every message of `lang`, by id."""
    return _messages(lang)


@functools.cache
def _messages(lang: str) -> dict[str, str]:
    loaded = json.loads(_folder(lang).joinpath("messages.json").read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in loaded.items()}


@functools.cache
def signature_texts(lang: str) -> dict[str, SignatureText]:
    """The knowledge base's words in `lang`, by signature id (none for English: the knowledge
    base is written in it)."""
    if lang == DEFAULT_LANGUAGE:
        return {}
    import yaml  # noqa: PLC0415 — only for another language than the knowledge base's

    texts: dict[str, SignatureText] = {}
    for entry in sorted(_folder(lang).iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".yaml"):
            continue
        for signature_id, fields in yaml.safe_load(entry.read_text(encoding="utf-8")).items():
            texts[str(signature_id)] = SignatureText(
                title=str(fields["title"]),
                explanation=fields.get("explanation"),
                suggestion=fields.get("suggestion"),
            )
    return texts


def _folder(lang: str) -> Traversable:
    return files("bifrost.i18n") / lang
