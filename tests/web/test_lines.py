"""The "show lines" view of a stored analysis: its kept input narrowed by level, regex and
template, as `bifrost filter` does."""

from __future__ import annotations

import html
import re

import httpx

from bifrost.engine.read import Source
from bifrost.engine.scan import Scanner
from tests.api.conftest import MAVEN, Api
from tests.conftest import DATA
from tests.web.test_pages import analyse

APP_LOG = (DATA / "logs" / "api-traceback.log").read_bytes()


def template_of(line: int) -> str:
    """The template id of a line of APP_LOG, as `bifrost templates` gives it."""
    scan = Scanner(keep_line_templates=True).scan(
        [Source(name="app.log", path=None, data=APP_LOG)], 1 << 20
    )
    assert scan.line_templates is not None
    return scan.template_id(scan.line_templates[line - 1])


def numbers(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="n">(\d+)</span>', page)]


def test_a_kept_input_shows_its_lines_by_level_regex_and_template(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await analyse(client, APP_LOG, keep_input="yes")).headers["location"]
        report = await client.get(location)
        assert f'href="{location}/lines"' in report.text
        everything = await client.get(location + "/lines")
        assert numbers(everything.text) == list(range(1, 13))
        errors = await client.get(location + "/lines", params={"level": "error"})
        assert numbers(errors.text) == [4, 5, 6, 7, 8, 11]  # the traceback whole
        assert '<option value="error" selected>' in errors.text
        refused = await client.get(location + "/lines", params={"regexp": "refused|nothing"})
        assert numbers(refused.text) == [11]
        assert "db:5432" in html.unescape(refused.text)

        ok = await client.get(location + "/lines", params={"template": template_of(9)})
        assert numbers(ok.text) == [9, 10, 12]
        unknown = await client.get(location + "/lines", params={"template": "0" * 12})
        assert numbers(unknown.text) == []
        assert "No line matches." in unknown.text
        bad = await client.get(location + "/lines", params={"level": "loud"})
        assert bad.status_code == 422
        assert (await client.get(location + "/lines", params={"regexp": "("})).status_code == 422

        other = (await analyse(client, MAVEN)).headers["location"]
        assert f'href="{other}/lines"' not in (await client.get(other)).text  # not kept
        assert (await client.get(other + "/lines")).status_code == 404

    sqlite_api.run(scenario)
