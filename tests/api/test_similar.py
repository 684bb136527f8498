"""Similar past incidents through the API's store, on SQLite and PostgreSQL: a later log of the
same failure names the earlier analysis with its feedback note; another failure names none."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import MAVEN, TRAINER, Api
from tests.test_similar import FIRST_WORDING, NEW_WORDING


def test_the_api_names_similar_incidents(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post("/api/v1/analyses", content=TRAINER)
        assert first.status_code == 201, first.text
        first_id = int(first.headers["x-bifrost-analysis-id"])
        said = {"good": True, "note": "Lower the batch size"}
        feedback = await client.post(f"/api/v1/analyses/{first_id}/feedback", json=said)
        assert feedback.status_code < 300, feedback.text
        later = await client.post("/api/v1/analyses", content=b"x\n" + TRAINER)
        [seen] = later.json()["similar"]
        assert (seen["analysis_id"], seen["resolution"]) == (first_id, "Lower the batch size")
        unrelated = await client.post("/api/v1/analyses", content=MAVEN)
        assert unrelated.json()["similar"] == []

    api.run(scenario)


def test_the_api_finds_the_same_failure_worded_anew_by_meaning(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post("/api/v1/analyses", content=FIRST_WORDING)
        first_id = int(first.headers["x-bifrost-analysis-id"])
        later = await client.post("/api/v1/analyses", content=NEW_WORDING)
        [seen] = later.json()["similar"]
        assert (seen["analysis_id"], seen["shared"]) == (first_id, 0)
        assert seen["meaning"] == pytest.approx(1.0, abs=0.01)  # the same titles, reworded lines

    api.run(scenario)
