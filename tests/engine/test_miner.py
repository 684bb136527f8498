"""The miner groups messages into templates the way a reader would."""

from bifrost.engine.mask import mask
from bifrost.engine.miner import TemplateMiner


def mine(messages: list[str]) -> tuple[TemplateMiner, list[int]]:
    miner = TemplateMiner()
    indices = [miner.add(mask(m)) for m in messages]
    return miner, [miner.find(i) for i in indices]


def test_identical_shapes_share_a_template() -> None:
    miner, ids = mine(["Connected to 10.0.0.1 in 3 ms", "Connected to 10.0.0.2 in 40 ms"])
    assert ids[0] == ids[1]
    assert miner.templates[ids[0]].text == "Connected to <*> in <*>"


def test_a_word_position_becomes_variable_after_enough_variants() -> None:
    users = ["alice", "bob", "carol", "dave", "erin"]
    miner, ids = mine([f"Invalid user {u} from 10.0.0.1" for u in users])
    assert len(set(ids)) == 1
    assert miner.templates[ids[0]].text == "Invalid user <*> from <*>"


def test_two_values_are_a_choice_not_a_variable() -> None:
    _, ids = mine(["Failed password for x from 1.2.3.4", "Failed none for x from 1.2.3.4"])
    assert ids[0] != ids[1]


def test_upper_case_states_never_become_variables() -> None:
    states = [
        "NEW to UNASSIGNED",
        "UNASSIGNED to ASSIGNED",
        "ASSIGNED to RUNNING",
        "RUNNING to SUCCEEDED",
        "RUNNING to FAILED",
    ]
    _, ids = mine([f"task_1 Transitioned from {s}" for s in states])
    assert len(set(ids)) == len(states)


def test_a_variable_may_be_empty() -> None:
    miner, ids = mine(
        [
            "connection from 1.2.3.4 (host-1.example.com) at 10:00:00",
            "connection from 1.2.3.5 () at 10:00:01",
        ]
    )
    assert ids[0] == ids[1]
    assert miner.templates[ids[0]].text == "connection from <*> (<*>) at <*>"


def test_different_lengths_and_leading_words_stay_apart() -> None:
    _, ids = mine(["Starting worker 1", "Starting worker 1 now", "Stopping worker 1"])
    assert len(set(ids)) == 3


def test_template_id_is_derived_from_the_text() -> None:
    first, a = mine(["Job 1 done", "Job 2 done"])
    second, b = mine(["Job 99 done"])
    assert first.templates[a[0]].id == second.templates[b[0]].id
