"""Similar past incidents: a later log of the same failure names the earlier analyses, with
what a person left on them; another failure, or the same log again, does not. Through the
CLI's embedded history and through the API's store (SQLite and PostgreSQL) alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.analysis.similar import MEANING_MIN, cosine, fingerprint, overlaps
from bifrost.embedding import embedder
from bifrost.store.records import Match
from tests.api.conftest import MAVEN, TRAINER
from tests.conftest import Run
from tests.llm.servers import VALID_ANSWER, FakeServer, Reply
from tests.llm.test_digest import make_finding, make_report


def test_the_same_leading_templates_are_alike_and_others_are_not() -> None:
    report = make_report([make_finding(rank, ["ERROR x"]) for rank in (1, 2, 3)])
    ours = fingerprint(report)
    assert ours == {"t1": 1.0, "t2": 0.5, "t3": 1 / 3}
    same = [Match(7, t, rank) for rank, t in enumerate(("t1", "t2", "t3"), start=1)]
    assert cosine(ours, overlaps(ours, same)[7], their_leads=3) == pytest.approx(1.0)
    swapped = [Match(8, "t1", 3), Match(8, "t3", 1)]
    partly = cosine(ours, overlaps(ours, swapped)[8], their_leads=5)
    assert 0.0 < partly < 0.6
    assert overlaps(ours, [Match(9, "elsewhere", 1)]) == {}


def test_a_later_log_of_the_same_failure_names_the_earlier_one(
    bifrost: Run, tmp_path: Path
) -> None:
    first, later, other = tmp_path / "first.log", tmp_path / "later.log", tmp_path / "maven.log"
    first.write_bytes(TRAINER)
    later.write_bytes(b"2024-06-01 08:00:00 INFO another day\n" + TRAINER)
    other.write_bytes(MAVEN)
    assert json.loads(bifrost("analyze", str(first), "-f", "json").stdout)["similar"] == []
    assert bifrost("feedback", "1", "--good", "--note", "Lower the batch size").returncode == 0
    bifrost("analyze", str(other), "-f", "json")  # analysis 2: another failure

    report = json.loads(bifrost("analyze", str(later), "-f", "json").stdout)
    [seen] = report["similar"]
    assert (seen["analysis_id"], seen["resolution"]) == (1, "Lower the batch size")
    assert seen["similarity"] > 0.9
    shown = bifrost("analyze", str(later), "--no-color").stdout
    assert "Seen before:" in shown
    assert "#1 on " in shown
    assert "alike: Lower the batch size" in shown
    for fmt, shape in (
        ("github", "%0ASeen before:%0A- #1 on "),
        ("junit", "Seen before:\n- #1 on "),
    ):
        assert shape in bifrost("analyze", str(later), "-f", fmt).stdout, fmt
    sarif = json.loads(bifrost("analyze", str(later), "-f", "sarif").stdout)
    assert sarif["runs"][0]["properties"]["similar"][0]["resolution"] == "Lower the batch size"
    again = json.loads(bifrost("analyze", str(first), "-f", "json", "--no-cache").stdout)
    assert [s["analysis_id"] for s in again["similar"]] == [3]  # not itself: the same content

    pinned = bifrost("known", "add", "1", "1", "--note", "Use gradient checkpointing")
    assert pinned.returncode == 0, pinned.stderr
    listed = bifrost("history", "similar", "3", "--json").stdout.splitlines()
    assert json.loads(listed[0])["resolution"] == "Use gradient checkpointing"
    assert "No past analysis" in bifrost("history", "similar", "2").stderr
    assert "no stored analysis has id 99" in bifrost("history", "similar", "99").stderr


def test_the_llm_is_told_what_fixed_the_same_failure_before(bifrost: Run, tmp_path: Path) -> None:
    first, later = tmp_path / "first.log", tmp_path / "later.log"
    first.write_bytes(TRAINER)
    later.write_bytes(b"2024-06-01 08:00:00 INFO another day\n" + TRAINER)
    bifrost("analyze", str(first), "-f", "json")
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    note = f"Lower the batch size; the token {secret} was fine"
    assert bifrost("feedback", "1", "--good", "--note", note).returncode == 0
    with FakeServer() as llm:
        llm.reply("/api/chat", Reply(text=VALID_ANSWER))
        env = {"BIFROST_LLM": "ollama", "BIFROST_MODEL": "test-model", "BIFROST_BASE_URL": llm.url}
        run = bifrost("analyze", str(later), "-f", "json", env=env)
        [body] = llm.bodies("/api/chat")
    assert run.returncode == 1, run.stderr
    user = body["messages"][1]["content"]
    assert "Past incidents of the same failure (from Bifrost's history, NOT this log" in user
    assert "Lower the batch size" in user
    assert secret not in json.dumps(body)  # the note is redacted like the log


FIRST_WORDING = (
    b"2024-05-01 10:00:00 INFO starting worker\n"
    b"2024-05-01 10:00:01 INFO loading settings from /etc/app.toml\n"
    b"2024-05-01 10:00:02 ERROR psycopg2.OperationalError: could not connect to server: "
    b"Connection refused\n"
    b"2024-05-01 10:00:02 ERROR worker exited with code 1\n"
)
NEW_WORDING = (  # the same failure, printed by the next major version of the driver
    b"2024-06-01 10:00:00 INFO starting worker\n"
    b"2024-06-01 10:00:01 INFO settings read (/etc/app.toml)\n"
    b"2024-06-01 10:00:02 ERROR psycopg.OperationalError: connection failed: connection to "
    b'server at "10.0.0.5", port 5432 failed: Connection refused\n'
    b"2024-06-01 10:00:02 ERROR the worker stopped, exit status 1\n"
)


def test_the_same_failure_worded_anew_is_found_by_meaning(bifrost: Run, tmp_path: Path) -> None:
    """No line of the two logs has the same template; what their findings say is the same."""
    first, later, other = tmp_path / "first.log", tmp_path / "later.log", tmp_path / "maven.log"
    first.write_bytes(FIRST_WORDING)
    later.write_bytes(NEW_WORDING)
    other.write_bytes(MAVEN)
    bifrost("analyze", str(first), "-f", "json")
    assert bifrost("feedback", "1", "--good", "--note", "Start the database first").returncode == 0
    bifrost("analyze", str(other), "-f", "json")

    report = json.loads(bifrost("analyze", str(later), "-f", "json").stdout)
    [seen] = report["similar"]
    assert (seen["analysis_id"], seen["shared"]) == (1, 0)  # no template in common
    assert seen["meaning"] >= MEANING_MIN
    assert seen["resolution"] == "Start the database first"
    assert "reads 100% alike: Start the database first" in bifrost("history", "similar", "3").stdout
    cached = bifrost("analyze", str(later), "-f", "json")  # its stored meaning, no model
    assert "from the cache" in cached.stderr
    assert json.loads(cached.stdout)["similar"] == report["similar"]

    off = {"BIFROST_SIMILAR_BY_MEANING": "false"}
    again = bifrost("analyze", str(later), "-f", "json", "--no-cache", env=off)
    assert json.loads(again.stdout)["similar"] == []


def test_meanings_are_unit_vectors_near_for_the_same_failure() -> None:
    model = embedder()
    assert model is not None  # the [memory] extra is part of the dev install
    vectors = model.embed(
        [
            "CUDA out of memory. Tried to allocate 2.00 GiB",
            "torch.OutOfMemoryError: CUDA out of memory while allocating a tensor",
            "npm ERR! code ELIFECYCLE",
        ]
    )
    assert vectors.shape == (3, 384)
    assert [round(float(v @ v), 4) for v in vectors] == [1.0, 1.0, 1.0]
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.3
