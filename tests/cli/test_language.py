"""The commands' own words in the language asked for (`bifrost --lang ko …`, `BIFROST_LANG`),
English by default; what a program reads (JSON, ids, values) the same in every language."""

from __future__ import annotations

import json
from pathlib import Path

from rich.cells import cell_len

from tests.conftest import Run

KOREAN = {"BIFROST_LANG": "ko"}
WIDE = {"COLUMNS": "200"}  # one table row per line, whatever the terminal running the tests


def test_keys_speak_korean_when_asked_and_english_by_default(bifrost: Run) -> None:
    created = bifrost("--lang", "ko", "keys", "create", "ci-bot")
    assert created.returncode == 0, created.stderr
    assert created.stderr == (
        '키 1 "ci-bot"을(를) 만들었습니다 (analyze, read; 기본 한도). '
        "다시 보여 주지 않으니 지금 보관하세요\n"
    )
    assert created.stdout.startswith("bfk_")  # the secret is the secret in any language

    korean = bifrost("keys", "list", "--no-color", env=KOREAN | WIDE).stdout.splitlines()
    english = bifrost("keys", "list", "--no-color", env=WIDE).stdout.splitlines()
    assert korean[0].split()[:4] == ["ID", "이름", "접두사", "범위"]
    assert english[0].split()[:4] == ["id", "name", "prefix", "scopes"]
    assert "활성" in korean[1]
    assert "없음" in korean[1]  # never used
    assert "active" in english[1]

    revoked = bifrost("keys", "revoke", "1", env=KOREAN)
    assert revoked.stdout == '키 1 "ci-bot"을(를) 폐기했습니다\n'
    listed = bifrost("keys", "list", "--all", "--json")
    assert bifrost("--lang", "ko", "keys", "list", "--all", "--json").stdout == listed.stdout
    assert json.loads(listed.stdout)[0]["name"] == "ci-bot"
    assert "API 키가 없습니다" in bifrost("keys", "list", env=KOREAN).stdout


def test_tenants_show_lines_its_korean_labels_up(bifrost: Run) -> None:
    made = bifrost("tenants", "create", "team-ml", "--analyses-per-day", "100", env=KOREAN)
    assert made.stdout == "테넌트 team-ml을(를) 만들었습니다: 하루 분석 100건\n", made.stderr

    shown = bifrost("--lang=ko", "tenants", "show", "team-ml").stdout.splitlines()
    assert shown[0].startswith("테넌트 team-ml (")
    values = ["서버 기본값", "0 / 100", "0 (한도 없음)", "0 (한도 없음)", "하루 "]
    assert [line.split("  ")[1] for line in shown[1:]] == [
        "요청 한도",
        "오늘 분석",
        "LLM 토큰 (이번 달)",
        "보관한 바이트",
        "초기화",
    ]
    # Each value starts at the same column of the terminal, a Korean syllable two columns wide.
    starts = {cell_len(line[: line.index(v)]) for line, v in zip(shown[1:], values, strict=True)}
    assert len(starts) == 1

    english = bifrost("tenants", "show", "team-ml", "--json").stdout
    assert bifrost("tenants", "show", "team-ml", "--json", env=KOREAN).stdout == english


def test_history_and_config_speak_korean(bifrost: Run) -> None:
    assert "맞는 저장된 분석이 없습니다." in bifrost("history", env=KOREAN).stdout
    assert bifrost("analyze", "--sample", "-q").returncode == 1
    korean = bifrost("history", "--no-color", env=KOREAN | WIDE).stdout.splitlines()
    english = bifrost("history", "--no-color", env=WIDE).stdout.splitlines()
    assert korean[0].split()[:3] == ["ID", "시각", "(UTC)"]
    assert english[0].split()[:3] == ["id", "when", "(UTC)"]
    assert korean[1].split()[:3] == english[1].split()[:3]  # id and time: values, as they are
    assert "GPU out of memory" in english[1]  # the knowledge base's title, as stored …
    assert "GPU 메모리 부족" in korean[1]  # … in the language asked for

    config = bifrost("config", "show", "--no-color", env=KOREAN | WIDE).stdout.splitlines()
    assert config[0].startswith("설정 파일: ")
    assert config[1].split() == ["설정", "값", "출처"]
    as_json = json.loads(bifrost("config", "show", "-f", "json").stdout)
    korean_json = json.loads(bifrost("config", "show", "-f", "json", env=KOREAN).stdout)
    assert korean_json["settings"].pop("lang") == {"value": "ko", "from": "environment"}
    assert as_json["settings"].pop("lang") == {"value": "en", "from": "default"}
    assert korean_json == as_json  # names, values and sources: never translated


def test_a_language_before_the_command_must_be_one_bifrost_speaks(bifrost: Run) -> None:
    refused = bifrost("--lang", "de", "keys", "list")
    assert (refused.returncode, refused.stderr) == (
        2,
        "bifrost: error: --lang: choose one of en, ko (got 'de')\n",
    )


def test_watch_says_what_it_saw_in_korean(bifrost: Run, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("2024-05-01 10:00:00 INFO ready\n2024-05-01 10:00:01 ERROR disk full\n")
    watched = bifrost("watch", str(log), "--no-color", env=KOREAN)
    assert watched.returncode == 0, watched.stderr
    first, *rest = watched.stdout.splitlines()
    assert first.startswith("[새 문제] 2번째 줄: ")
    assert "2줄 읽음, 문제 1종류" in rest
    assert "2 lines read, 1 kinds of trouble" in bifrost("watch", str(log)).stdout
