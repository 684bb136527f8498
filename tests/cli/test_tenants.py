"""`bifrost tenants` and `bifrost keys --tenant`: the server's admin makes teams, their limits
and their keys from the command line, on the embedded history."""

from __future__ import annotations

import json

import pytest

from bifrost.cli.tenants import amount
from bifrost.errors import UsageError
from tests.conftest import Run


def test_a_tenant_is_made_with_limits_changed_and_shown(bifrost: Run) -> None:
    made = bifrost(
        "tenants", "create", "team-ml", "--analyses-per-day", "100", "--stored-bytes", "5GB"
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout == "created tenant team-ml: 100 analyses/day, 5,000,000,000 bytes kept\n"
    again = bifrost("tenants", "create", "team-ml")
    assert (again.returncode, again.stderr) == (
        2,
        "bifrost: error: a tenant named 'team-ml' exists already\n",
    )
    changed = bifrost("tenants", "set", "team-ml", "--stored-bytes", "none", "--rate", "60/minute")
    assert changed.stdout == "tenant team-ml: rate 60/minute, 100 analyses/day\n", changed.stderr

    listed = json.loads(bifrost("tenants", "list", "--json").stdout)
    assert [(t["name"], t["limits"]["analyses_per_day"]) for t in listed] == [
        ("default", None),
        ("team-ml", 100),
    ]
    shown = json.loads(bifrost("tenants", "show", "team-ml", "--json").stdout)
    assert shown["used"]["analyses_today"] == 0
    assert shown["limits"] == {
        "rate": "60/minute",
        "analyses_per_day": 100,
        "stored_bytes": None,
        "llm_tokens_per_month": None,
    }
    text = bifrost("tenants", "show", "team-ml").stdout
    assert "analyses today      0 of 100" in text
    assert "bytes kept          0 (no limit)" in text


def test_keys_belong_to_the_tenant_they_are_made_for(bifrost: Run) -> None:
    assert bifrost("tenants", "create", "team-ml").returncode == 0
    made = bifrost("keys", "create", "ml-admin", "--tenant", "team-ml", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("bfk_")
    assert 'created key 1 "ml-admin" of tenant team-ml (admin;' in made.stderr
    assert bifrost("keys", "create", "ops").returncode == 0

    theirs = json.loads(bifrost("keys", "list", "--tenant", "team-ml", "--json").stdout)
    ours = json.loads(bifrost("keys", "list", "--json").stdout)
    assert [k["name"] for k in theirs] == ["ml-admin"]
    assert [k["name"] for k in ours] == ["ops"]
    refused = bifrost("keys", "revoke", "1")  # the default tenant has no key 1
    assert refused.returncode == 2
    assert "no API key has id 1" in refused.stderr
    assert bifrost("keys", "revoke", "1", "--tenant", "team-ml").returncode == 0

    unknown = bifrost("keys", "create", "x", "--tenant", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "bifrost: error: no tenant is named 'nope'; `bifrost tenants list` lists them\n"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1000", 1000),
        ("5GB", 5 * 10**9),
        ("500MiB", 500 * 2**20),
        ("2M", 2 * 10**6),
        ("3 kb", 3000),
        ("none", None),
        ("Unlimited", None),
    ],
)
def test_amounts_read_as_people_write_them(text: str, value: int | None) -> None:
    assert amount(text) == value


@pytest.mark.parametrize("text", ["", "5 GB!", "-1", "1.5G", "lots"])
def test_an_amount_that_cannot_be_read_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match="like 5GB or 2M; or none"):
        amount(text)
