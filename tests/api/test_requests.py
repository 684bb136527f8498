"""A client's request id: a retried POST answers the analysis it already made."""

from __future__ import annotations

import httpx

from .conftest import ANALYSES, MAVEN, TRAINER, Api


def test_a_retried_request_gets_the_same_analysis(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.post(ANALYSES, params={"request_id": "ci-123"}, content=TRAINER)
        assert first.status_code == 201
        retry = await client.post(ANALYSES, params={"request_id": "ci-123"}, content=TRAINER)
        assert retry.status_code == 200
        assert retry.headers["x-bifrost-cache"] == "hit"
        assert retry.headers["location"] == first.headers["location"]
        # The id names the request: another body under it still answers the first analysis.
        other = await client.post(ANALYSES, json={"log": MAVEN.decode(), "request_id": "ci-123"})
        assert other.headers["location"] == first.headers["location"]
        assert other.json()["findings"][0]["category"] == "gpu.cuda_oom"
        listed = (await client.get(ANALYSES)).json()["items"]
        assert len(listed) == 1
        bad = await client.post(ANALYSES, params={"request_id": ""}, content=TRAINER)
        assert bad.status_code == 422

    api.run(scenario)
