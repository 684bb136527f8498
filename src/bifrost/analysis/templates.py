"""A log's templates: with their counts, or the template of every line (the jsonl contract)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from bifrost.config import Settings
from bifrost.engine.read import open_sources
from bifrost.engine.scan import Scan, Scanner


@dataclass(frozen=True)
class Templates:
    """The templates mined from some inputs, with what reading them warned about."""

    scan: Scan

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.scan.sources for w in s.warnings]

    def counts(self) -> list[dict[str, object]]:
        """Templates with their line counts, most frequent first."""
        scan = self.scan
        counts: Counter[int] = Counter()
        for index, stats in scan.stats.items():
            counts[scan.miner.find(index)] += stats.count
        return [
            {"template_id": scan.template_id(i), "template": scan.template_text(i), "count": n}
            for i, n in counts.most_common()
        ]

    def jsonl(self) -> Iterator[str]:
        """One JSON object per input line, in input order (the public contract in DESIGN.md),
        in chunks of many lines.

        The constant tail of each record is encoded once per template, so a million lines cost
        a string format each rather than a `json.dumps` each.
        """
        scan = self.scan
        assert scan.line_templates is not None
        several = len(scan.sources) > 1
        tails: dict[int, str] = {}
        for index in set(scan.line_templates):
            tails[index] = (
                f', "template_id": "{scan.template_id(index)}", '
                f'"template": {json.dumps(scan.template_text(index))}}}\n'
            )
        position = 0
        for file, count in enumerate(scan.line_files):
            name = json.dumps(scan.sources[file].name)
            prefix = f'{{"file": {name}, "line": ' if several else '{"line": '
            indices = scan.line_templates[position : position + count]
            batch: list[str] = []
            for line, index in enumerate(indices, start=1):
                batch.append(f"{prefix}{line}{tails[index]}")
                if len(batch) >= 65536:
                    yield "".join(batch)
                    batch.clear()
            yield "".join(batch)
            position += count


def mine_templates(paths: list[str], settings: Settings) -> Templates:
    """Mine the inputs keeping the template of every line."""
    scanner = Scanner(max_line_bytes=settings.max_line_bytes, keep_line_templates=True)
    return Templates(scanner.scan(open_sources(paths), settings.chunk_bytes))
