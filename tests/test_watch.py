"""`watch` on a live stream: a generator process writes through a pipe; a late error burst is
reported once, promptly, and the watcher exits cleanly when the input ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bifrost.analysis.watch import Watcher
from tests.llm.servers import FakeServer, Reply

GENERATOR = textwrap.dedent(
    """
    import sys, time
    for i in range(300):
        print(f"2024-05-01 10:00:00,{i % 1000:03d} INFO worker: step {i} ok", flush=True)
    time.sleep(1.0)
    for i in range(50):
        print(f"2024-05-01 10:00:05,{i:03d} ERROR db: could not connect to 10.0.0.{i % 9}: "
              "Connection refused", flush=True)
    time.sleep(1.5)
    print("2024-05-01 10:00:09,000 INFO worker: shutting down", flush=True)
    """
)


def test_a_late_burst_is_reported_once_and_promptly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "NO_COLOR": "1"}
    env["XDG_DATA_HOME"] = str(tmp_path)
    generator = subprocess.Popen([sys.executable, "-c", GENERATOR], stdout=subprocess.PIPE)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bifrost", "watch"],
        stdin=generator.stdout,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert generator.stdout is not None
    generator.stdout.close()
    assert watcher.stdout is not None
    started = time.monotonic()
    first = watcher.stdout.readline().decode()
    seen_after = time.monotonic() - started
    rest, _ = watcher.communicate(timeout=60)
    generator.wait(timeout=10)
    assert "[new]" in first
    assert "Connection refused" in first or "refused" in first.lower()
    assert seen_after < 2.4  # before the generator's last line: as it happened, not at the end
    output = first + rest.decode()
    assert output.count("[new]") == 1  # a storm of 50 is announced once …
    assert "[burst" not in output  # … not again as a burst of itself
    assert "351 lines read, 1 kinds of trouble" in output
    assert watcher.returncode == 0


def test_bursts_follow_a_cooldown() -> None:
    now = [0.0]
    watcher = Watcher(burst_count=3, burst_window_s=10, cooldown_s=60, clock=lambda: now[0])
    kinds = []
    for second in [0, 1, 2, 3, 30, 31, 32, 100, 101, 102]:
        now[0] = float(second)
        kinds += [a.kind for a in watcher.feed(b"ERROR disk /dev/sda1 is full")]
    assert kinds == ["new", "burst"]  # 30–32 is within the cool-down, 100–102 would be next
    now[0] = 200.0
    for second in (200, 201, 202):
        now[0] = float(second)
        kinds += [a.kind for a in watcher.feed(b"ERROR disk /dev/sda1 is full")]
    assert kinds == ["new", "burst", "burst"]


def test_quiet_lines_and_look_alikes_say_nothing() -> None:
    watcher = Watcher()
    lines = [b"INFO ok", b"INFO 0 errors", b"DEBUG retrying (attempt 1/3)", b"INFO done"]
    assert [a for line in lines for a in watcher.feed(line)] == []
    (alert,) = watcher.feed(b"ERROR java.lang.OutOfMemoryError: Java heap space")
    assert alert.signature is not None
    assert alert.kind == "new"


def test_each_new_kind_is_explained_once_by_the_llm(tmp_path: Path) -> None:
    answer = (
        '{"summary": "The database is down.", "root_cause": "Nothing listens on port 5432.", '
        '"confidence": "medium", "findings": [], "fixes": [], "citations": []}'
    )
    lines = "".join(
        f"2024-05-01 10:00:{i:02d},000 ERROR db: could not connect: Connection refused\n"
        for i in range(30)
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "NO_COLOR": "1"}
    with FakeServer() as server:
        server.reply("/api/chat", Reply(text=answer))
        args = ["--llm", "ollama", "-m", "test-model", "--base-url", server.url]
        result = subprocess.run(
            [sys.executable, "-m", "bifrost", "watch", *args],
            input=lines.encode(),
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert len(server.bodies("/api/chat")) == 1
    output = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert output.count("→ Nothing listens on port 5432.") == 1
