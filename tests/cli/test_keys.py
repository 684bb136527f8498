"""`bifrost keys` as an operator meets it: the secret once on stdout, listed, revoked."""

import json

from tests.conftest import Run

WIDE = {"COLUMNS": "200"}  # one table row per key, whatever the terminal running the tests


def test_create_prints_the_secret_alone_and_the_note_on_stderr(bifrost: Run) -> None:
    created = bifrost("keys", "create", "ci-bot", "--rate", "600 / hours")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n"  # so `KEY=$(bifrost keys create ci-bot)` works
    assert secret.startswith("bfk_")
    assert " " not in secret
    assert created.stderr == (
        'created key 1 "ci-bot" (analyze, read; 600/hour): store it now, it is not shown again\n'
    )
    admin = bifrost("keys", "create", "ops", "--scope", "admin", "--scope", "read")
    assert admin.returncode == 0, admin.stderr
    assert "(read, admin; default rate)" in admin.stderr
    assert admin.stdout.strip() != secret

    listing = bifrost("keys", "list", "--no-color", env=WIDE)
    assert listing.returncode == 0
    assert secret[:12] in listing.stdout  # the prefix, to recognise it
    assert secret not in listing.stdout
    assert secret[12:] not in listing.stdout
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:5] == ["id", "name", "prefix", "scopes", "rate"]
    assert "ci-bot" in lines[1]
    assert "analyze, read" in lines[1]
    assert "600/hour" in lines[1]
    assert "never" in lines[1]
    assert "active" in lines[1]
    assert "default" in lines[2]


def test_json_forms(bifrost: Run) -> None:
    created = bifrost("keys", "create", "ci-bot", "--scope", "analyze,admin", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert set(key) == {"id", "name", "prefix", "scopes", "rate", "created_at", "key"}
    assert (key["id"], key["name"], key["scopes"], key["rate"]) == (
        1,
        "ci-bot",
        ["analyze", "admin"],
        None,
    )
    assert key["key"].startswith(key["prefix"])
    assert key["created_at"].endswith("+00:00")
    assert "not shown again" in created.stderr

    listed = json.loads(bifrost("keys", "list", "--json").stdout)
    assert [(k["id"], k["name"], k["active"]) for k in listed] == [(1, "ci-bot", True)]
    assert listed[0]["prefix"] == key["prefix"]
    assert "key" not in listed[0]
    assert key["key"] not in json.dumps(listed)
    assert (listed[0]["last_used_at"], listed[0]["revoked_at"]) == (None, None)


def test_revoke_hides_the_key_from_the_default_list(bifrost: Run) -> None:
    bifrost("keys", "create", "ci-bot")
    bifrost("keys", "create", "nightly")
    revoked = bifrost("keys", "revoke", "1")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == 'revoked key 1 "ci-bot"\n'

    active = bifrost("keys", "list", "--no-color", env=WIDE).stdout
    assert "nightly" in active
    assert "ci-bot" not in active
    every = bifrost("keys", "list", "--all", "--no-color", env=WIDE).stdout
    assert "ci-bot" in every
    assert "revoked" in every
    listed = json.loads(bifrost("keys", "list", "--all", "--json").stdout)
    assert [k["active"] for k in listed] == [False, True]
    assert listed[0]["revoked_at"] is not None
    assert [k["id"] for k in json.loads(bifrost("keys", "list", "--json").stdout)] == [2]

    assert bifrost("keys", "revoke", "1").returncode == 0  # again: nothing changes
    missing = bifrost("keys", "revoke", "99")
    assert missing.returncode == 2
    assert missing.stderr == (
        "bifrost: error: no API key has id 99; `bifrost keys list --all` lists them\n"
    )


def test_bad_arguments_are_one_line_and_exit_2(bifrost: Run) -> None:
    for args, message in [
        (["--scope", "write"], "unknown scope 'write'; the scopes are analyze, read, admin"),
        (["--rate", "lots"], "cannot read the rate 'lots'"),
    ]:
        refused = bifrost("keys", "create", "ci-bot", *args)
        assert refused.returncode == 2
        assert refused.stdout == ""
        assert len(refused.stderr.splitlines()) == 1
        assert refused.stderr.startswith(f"bifrost: error: {message}")
        assert "Traceback" not in refused.stderr
    assert bifrost("keys", "create", "").returncode == 2
    assert "No API keys" in bifrost("keys", "list").stdout  # nothing was created


def test_a_narrow_terminal_keeps_each_prefix_whole(bifrost: Run) -> None:
    secret = bifrost("keys", "create", "a key with a rather long name", "--rate", "10/second")
    listing = bifrost("keys", "list", "--no-color", env={"COLUMNS": "80"}).stdout
    assert secret.stdout.strip()[:12] in listing
    assert "active" in listing
    assert all(len(line) <= 80 for line in listing.splitlines())
