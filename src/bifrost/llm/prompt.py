"""Versioned prompt templates shipped in the package (`prompts/<name>_<version>.md`).

A prompt never changes once released: a new wording is a new version, so that the version
recorded in a Report says exactly what the model was asked. A template file holds a
`<!-- system -->` section and a `<!-- user -->` section; `{{schema}}` in the system prompt
becomes the answer's JSON schema and `{{digest}}` in the user template the digest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

from bifrost.errors import BifrostError
from bifrost.llm.answer import answer_schema
from bifrost.llm.base import ChatRequest
from bifrost.llm.digest import Digest, estimate_tokens

# Room for a complete JSON answer: a truncated one can only be rejected as malformed.
MAX_OUTPUT_TOKENS = 2048
# What chat templates add around each message (role markers, separators), generously.
MESSAGE_OVERHEAD_TOKENS = 8

_SECTIONS = re.compile(r"^<!-- (system|user) -->\n", re.MULTILINE)
# The excerpt's delimiters: a log line cannot close the excerpt early by containing them.
_DELIMITER = re.compile(r"<(/?)(log_excerpt)", re.IGNORECASE)


class PromptError(BifrostError):
    """A prompt template is missing or malformed (a packaging error, not the user's)."""

    code = "prompt_error"
    exit_code = 3


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    system: str
    user_template: str

    @property
    def id(self) -> str:
        return f"{self.name}/{self.version}"

    def render(self, digest: Digest) -> ChatRequest:
        """The request for `digest`: the digest goes into the user message only, as data."""
        user = self.user_template.replace("{{digest}}", _DELIMITER.sub(r"‹\1\2", digest.text))
        return ChatRequest(
            system=self.system,
            user=user,
            schema=answer_schema(),
            max_output_tokens=MAX_OUTPUT_TOKENS,
            prompt_tokens_estimate=estimate_tokens(self.system)
            + estimate_tokens(user)
            + 2 * MESSAGE_OVERHEAD_TOKENS,
        )


def load_prompt(name: str = "triage", version: int = 1) -> Prompt:
    resource = resources.files("bifrost.llm").joinpath(f"prompts/{name}_{version}.md")
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise PromptError(f"no prompt {name}/{version} in this installation of Bifrost") from None
    parts = _SECTIONS.split(text)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    if set(sections) != {"system", "user"} or sections["user"].count("{{digest}}") != 1:
        raise PromptError(
            f"prompt {name}/{version} must have a system and a user section, "
            "and the user section exactly one {{digest}}"
        )
    schema = json.dumps(answer_schema(), separators=(",", ":"))
    return Prompt(
        name=name,
        version=version,
        system=sections["system"].strip().replace("{{schema}}", schema),
        user_template=sections["user"].strip(),
    )
