"""What a front knows of its inputs: opened sources, and their clean-up.

The fronts (CLI, API) hand inputs to the use cases of this package as `Source`s; they never
read a log themselves. This module is the one door to the engine's reader for them.
"""

from bifrost.engine.read import Source, check_text, discard_spools, open_sources

__all__ = ["Source", "check_text", "discard_spools", "open_sources"]
