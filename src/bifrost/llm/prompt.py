"""Versioned prompt templates: shipped in the package (`prompts/<name>_<version>.md`) and a
team's own, from a folder (`BIFROST_PROMPT_DIR`) in the same form.

A prompt never changes once released: a new wording is a new version, so that the version
recorded in a Report says exactly what the model was asked; the content's SHA-256 is
recorded too, and is part of the cache key, so an edited file is never answered from the
cache of its old wording. A template file holds a `<!-- system -->` section and a
`<!-- user -->` section; `{{schema}}` in the system prompt becomes the answer's JSON schema
and `{{digest}}` in the user template the digest. A folder's prompt may not take the name and
version of a built-in one: a new wording is a new version, or a new name.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from bifrost.errors import BifrostError, UsageError
from bifrost.i18n import DEFAULT_LANGUAGE, NAMES
from bifrost.llm.answer import answer_schema
from bifrost.llm.base import ChatRequest
from bifrost.llm.digest import Digest, estimate_tokens

# What chat templates add around each message (role markers, separators), generously.
MESSAGE_OVERHEAD_TOKENS = 8

_IN_LANGUAGE = (
    "Write every text of the answer (summary, root cause, notes, fixes) in {language}. Keep "
    "finding ids, commands, file names, settings and quoted log lines exactly as they are."
)
"""Appended to the system prompt when the reader asked for another language than English."""
_SECTIONS = re.compile(r"^<!-- (system|user) -->\n", re.MULTILINE)
# The excerpt's delimiters: a log line cannot close the excerpt early by containing them.
_DELIMITER = re.compile(r"<(/?)(log_excerpt)", re.IGNORECASE)


class PromptError(BifrostError):
    """A prompt template is missing or malformed (a packaging error, not the user's)."""

    code = "prompt_error"
    exit_code = 3


_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)_(?P<version>[1-9][0-9]*)\.md$")
DEFAULT_PROMPT = "triage"


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    system: str
    user_template: str
    sha256: str = ""
    source: str = "built-in"  # or the folder it came from
    text: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def identity(self) -> str:
        """What the answer depends on: the name, the version and the wording."""
        return f"{self.id}#{self.sha256[:12]}"

    def render(
        self, digest: Digest, max_output_tokens: int = 2048, lang: str = DEFAULT_LANGUAGE
    ) -> ChatRequest:
        """The request for `digest`: the digest goes into the user message only, as data. The
        answer needs room to be whole: a truncated one can only be rejected as malformed. In
        another language than English, the model is asked to write its words in it."""
        user = self.user_template.replace("{{digest}}", _DELIMITER.sub(r"‹\1\2", digest.text))
        system = self.system
        if lang != DEFAULT_LANGUAGE:
            system += "\n\n" + _IN_LANGUAGE.format(language=NAMES[lang])
        return ChatRequest(
            system=system,
            user=user,
            schema=answer_schema(digest.finding_ids),
            max_output_tokens=max_output_tokens,
            prompt_tokens_estimate=estimate_tokens(system)
            + estimate_tokens(user)
            + 2 * MESSAGE_OVERHEAD_TOKENS,
        )


@dataclass(frozen=True)
class PromptFile:
    name: str
    version: int
    entry: Traversable
    source: str  # "built-in", or the folder it is in


def available_prompts(directory: str | None = None) -> dict[tuple[str, int], PromptFile]:
    """Every prompt file, built-in and from `directory`, by (name, version)."""
    folders: list[tuple[Traversable, str]] = [
        (resources.files("bifrost.llm").joinpath("prompts"), "built-in")
    ]
    if directory:
        own = Path(directory).expanduser()
        if not own.is_dir():
            raise UsageError.said("prompt.not_a_folder", folder=directory)
        folders.append((own, str(own)))
    found: dict[tuple[str, int], PromptFile] = {}
    for folder, source in folders:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            matched = _FILE.match(entry.name)
            if matched is None:
                continue
            key = (matched["name"], int(matched["version"]))
            if key in found:
                raise UsageError.said(
                    "prompt.built_in", file=f"{source}/{entry.name}", prompt=f"{key[0]}/{key[1]}"
                )
            found[key] = PromptFile(key[0], key[1], entry, source)
    return found


def load_prompt(wanted: str = DEFAULT_PROMPT, directory: str | None = None) -> Prompt:
    """The prompt `NAME` (its newest version) or `NAME/VERSION`."""
    name, _, version_text = wanted.partition("/")
    files = available_prompts(directory)
    versions = sorted(v for (n, v) in files if n == name)
    if version_text:
        if not version_text.isdigit() or int(version_text) not in versions:
            raise UsageError.said("prompt.missing", name=wanted)
        version = int(version_text)
    elif versions:
        version = versions[-1]
    else:
        raise UsageError.said("prompt.missing", name=repr(name))
    file = files[(name, version)]
    text = file.entry.read_text(encoding="utf-8")
    parts = _SECTIONS.split(text)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True)) if len(parts) % 2 else {}
    if set(sections) != {"system", "user"} or sections["user"].count("{{digest}}") != 1:
        raise PromptError.said(
            "prompt.bad_sections", name=name, version=version, source=file.source
        )
    schema = json.dumps(answer_schema(), separators=(",", ":"))
    return Prompt(
        name=name,
        version=version,
        system=sections["system"].strip().replace("{{schema}}", schema),
        user_template=sections["user"].strip(),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=file.source,
        text=text,
    )
