"""A training run's metrics through the API and the web UI: summaries always, the series on
request (`?series=true`), a chart on the report page."""

from __future__ import annotations

import httpx

from tests.api.conftest import TRAINER, Api


def test_the_series_come_only_when_asked_for(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        plain = await client.post("/api/v1/analyses", content=TRAINER)
        assert plain.status_code == 201, plain.text
        metrics = {m["key"]: m for m in plain.json()["metrics"]}
        assert metrics["loss"]["count"] == 184
        assert metrics["loss"]["points"] is None
        asked = await client.post(
            "/api/v1/analyses", params={"series": "true", "cache": "false"}, content=TRAINER
        )
        points = asked.json()["metrics"][0]["points"]
        assert len(points) == 184
        assert points[0]["line"] < points[-1]["line"]
        stored = f"/api/v1/analyses/{plain.headers['x-bifrost-analysis-id']}"
        summary = (await client.get(stored)).json()["report"]["metrics"]
        assert summary[0]["points"] is None
        full = (await client.get(stored, params={"series": "true"})).json()["report"]["metrics"]
        assert len(full[0]["points"]) == 184

    sqlite_api.run(scenario)


def test_the_report_page_draws_each_metric(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        answer = await client.post("/api/v1/analyses", content=TRAINER)
        page = await client.get(f"/analyses/{answer.headers['x-bifrost-analysis-id']}")
        assert page.status_code == 200
        assert '<h2 id="metrics-title">Training metrics</h2>' in page.text
        assert page.text.count("<svg xmlns=") == len(answer.json()["metrics"])
        assert 'aria-label="loss: 1.967 → 1.138 · 184 values"' in page.text

    sqlite_api.run(scenario)
