"""What a front knows of its inputs: opened sources, and their clean-up.

The fronts (CLI, API) hand inputs to the use cases of this package as `Source`s; they never
read a log themselves. This module is the one door to the engine's reader for them.
"""

import gzip

from bifrost.engine.read import Source, check_text, discard_spools, open_sources

__all__ = ["Source", "check_text", "compressed", "discard_spools", "open_sources"]


def compressed(sources: list[Source]) -> bytes:
    """The raw input, gzip-compressed (one member per source, read back as one stream): kept
    with an analysis (`--store-input`), or for the workers (a queued job)."""
    out = bytearray()
    for source in sources:
        if source.data is not None:
            out += gzip.compress(source.data)
        else:
            assert source.path is not None
            out += gzip.compress(source.path.read_bytes())
    return bytes(out)
