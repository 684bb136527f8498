"""Masking keeps the words that carry meaning and hides what changes between occurrences."""

import pytest

from bifrost.engine.mask import mask


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Connected to 10.0.0.12:5432 in 35 ms", "Connected to <*> in <*>"),
        (
            "Deleting block blk_-1608999687919862906 file /data/dfs/blk_1",
            "Deleting block <*> file <*>",
        ),
        ("request 3f2a9c1e-1b2c-4d5e-8f90-123456789abc done", "request <*> done"),
        ("commit 4e8932e579d2e085ea2d9e6e88035d1ad0ad16a6 checked out", "commit <*> checked out"),
        ("pointer 0x7ffd5a3c at offset 12", "pointer <*> at offset <*>"),
        ("pod trainer-7d9f8b6c5-x2k4p restarted", "pod <*> restarted"),
        ("pod api-5f7b9c8d4f-abcde restarted", "pod <*> restarted"),
        ("took 3.5s, allocated 2.00 GiB", "took <*>, allocated <*>"),
        ("Started at 2024-05-01T12:00:00.123Z", "Started at <*>"),
        ("connection from 1.2.3.4 at Sun Jul 10 03:55:22 2005", "connection from <*> at <*>"),
        ("GET https://example.com/a/b?c=1 returned", "GET <*> returned"),
        ("mail to ops@example.com bounced", "mail to <*> bounced"),
        ("host ip-10-0-1-2.ec2.internal unreachable", "host <*> unreachable"),
        ("cannot open '/etc/app/conf.d/x.yaml'", "cannot open '<*>'"),
    ],
)
def test_variables_are_masked(message: str, expected: str) -> None:
    assert mask(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "Failed password for root from <*> port <*> ssh2",
        "Building for x86_64 with utf-8 and sha256",
        "CUDA out of memory",
        "Starting service 'sparkDriver'",
        "instruction cache parity error corrected",
    ],
)
def test_meaningful_words_are_kept(message: str) -> None:
    assert mask(message) == message


def test_adjacent_variables_collapse_into_one() -> None:
    assert mask("range 0000000000100000 - 000000001f7f0000 (usable)") == "range <*> (usable)"
