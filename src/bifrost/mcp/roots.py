"""The folders the MCP server may read logs from. An agent names files by path; a path is
resolved (symlinks and `..` included) and read only if it lies inside one of the roots, so a
prompt-injected agent cannot have Bifrost read `~/.ssh` or `/etc`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bifrost.errors import UsageError


@dataclass(frozen=True)
class Roots:
    folders: tuple[Path, ...]

    @classmethod
    def of(cls, folders: list[str]) -> Roots:
        resolved = []
        for folder in folders:
            path = Path(folder).expanduser().resolve()
            if not path.is_dir():
                raise UsageError.said("mcp.root_not_a_folder", folder=folder)
            resolved.append(path)
        return cls(tuple(resolved))

    def resolve(self, name: str) -> Path:
        """The file `name` names (relative names from the first root), if it is inside."""
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = self.folders[0] / path
        path = path.resolve()
        if not any(path.is_relative_to(folder) for folder in self.folders):
            allowed = ", ".join(str(folder) for folder in self.folders)
            raise UsageError.said("mcp.outside_roots", name=name, allowed=allowed)
        if not path.is_file():
            raise UsageError.said("input.no_such_file", name=name)
        return path
