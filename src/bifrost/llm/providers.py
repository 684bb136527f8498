"""Which provider to talk to, from the settings: the one place that knows all three.

Each provider's module (and its client: httpx, boto3) is imported only when it is chosen.
"""

from __future__ import annotations

import os

from bifrost.choices import ProviderName
from bifrost.config import Settings
from bifrost.errors import UsageError
from bifrost.llm.base import Provider, ProviderStatus

PROVIDERS: tuple[ProviderName, ...] = ("ollama", "openai", "bedrock")
_DEFAULT_MODELS: dict[str, str | None] = {"ollama": "qwen2.5:7b", "openai": None, "bedrock": None}


def model_for(settings: Settings, name: ProviderName) -> str | None:
    """The model to use: the configured one, or the provider's default (Ollama: qwen2.5:7b)."""
    return settings.model or _DEFAULT_MODELS[name]


def make_provider(settings: Settings, name: ProviderName | None = None) -> Provider:
    """The configured provider (or `name`), ready to use; a clear error when it cannot be."""
    chosen = name or settings.llm
    if chosen is None:
        raise UsageError.said("llm.no_provider")
    model = model_for(settings, chosen)
    if model is None:
        raise UsageError.said("llm.no_model", provider=chosen)
    timeout = settings.llm_timeout_s
    if chosen == "ollama":
        from bifrost.llm.ollama import OllamaProvider, ollama_base_url  # noqa: PLC0415

        url = ollama_base_url(settings.base_url, os.environ)
        return OllamaProvider(model, base_url=url, read_timeout=timeout)
    if chosen == "openai":
        from bifrost.llm.openai_compat import DEFAULT_URL, OpenAICompatProvider  # noqa: PLC0415

        key_env = (
            "BIFROST_OPENAI_API_KEY" if "BIFROST_OPENAI_API_KEY" in os.environ else "OPENAI_API_KEY"
        )
        return OpenAICompatProvider(
            model,
            base_url=settings.base_url or DEFAULT_URL,
            api_key=os.environ.get(key_env),
            key_env=key_env,
            read_timeout=timeout,
        )
    from bifrost.llm.bedrock import BedrockProvider  # noqa: PLC0415

    return BedrockProvider(model, read_timeout=timeout)


async def statuses(settings: Settings) -> list[ProviderStatus]:
    """Every provider's reachability and models, for `bifrost providers`."""
    found = []
    listing = settings.model_copy(update={"model": settings.model or "-"})  # models not needed
    for name in PROVIDERS:
        try:
            provider = make_provider(listing, name)
        except UsageError as exc:
            found.append(ProviderStatus(name, "-", reachable=False, problem=exc.message))
            continue
        try:
            found.append(await provider.status())
        finally:
            await provider.aclose()
    return found
