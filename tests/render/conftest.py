"""Reports to render, built the way the engine builds them.

Test modules get these through the fixtures at the end (`make_report`, `make_finding`,
`make_evidence`, `sample_report`); they never `import conftest`, which is ambiguous once other
test directories have a conftest.py of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bifrost.choices import Severity, Verdict
from bifrost.report import (
    Evidence,
    Finding,
    InputInfo,
    Position,
    Report,
    Stats,
)

TRACEBACK = """\
Traceback (most recent call last):
  File "/workspace/train.py", line 412, in <module>
    main()
  File "/workspace/train.py", line 388, in main
    loss = model(**batch).loss
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total \
capacity; 76.02 GiB already allocated; 1.21 GiB free; 77.35 GiB reserved in total by PyTorch)"""

WATCHDOG = (
    "[E ProcessGroupNCCL.cpp:828] [Rank 1] Watchdog caught collective operation timeout: "
    "WorkNCCL(SeqNum=29481, OpType=ALLREDUCE, Timeout(ms)=600000) ran for 600381 milliseconds "
    "before timing out."
)


def evidence(line: int, text: str, file: str | None = None) -> Evidence:
    """Evidence starting at `line`, covering as many lines as `text` has."""
    return Evidence(line=line, end_line=line + text.count("\n"), text=text, file=file)


def finding(
    title: str = "CUDA out of memory",
    *,
    severity: Severity = "critical",
    count: int = 1,
    items: Sequence[Evidence] = (),
    first: Position | None = None,
    last: Position | None = None,
    **extra: Any,
) -> Finding:
    items = list(items) or [evidence(450, TRACEBACK)]
    first = first or Position(line=items[0].end_line, file=items[0].file)
    return Finding(
        id=extra.pop("id", "F1"),
        title=title,
        severity=severity,
        category=extra.pop("category", "ml.cuda_oom"),
        score=extra.pop("score", 0.9),
        template_id=extra.pop("template_id", "t1"),
        template=extra.pop("template", "<*>"),
        count=count,
        first_seen=first,
        last_seen=last or first,
        evidence=items,
        **extra,
    )


def report(
    findings: Sequence[Finding] = (),
    *,
    verdict: Verdict | None = None,
    summary: str = "",
    files: Sequence[str] = (),
    fmt: str | None = "python",
) -> Report:
    return Report(
        input=InputInfo(
            name="trainer.log", lines=1836, bytes=181234, sha256="0" * 64, files=list(files)
        ),
        stats=Stats(
            lines=1836,
            events=1502,
            templates=211,
            levels={"info": 1700, "warning": 30, "error": 13, "critical": 1},
            elapsed_s=0.04,
            format=fmt,
        ),
        verdict=verdict or ("failure" if findings else "ok"),
        findings=list(findings),
        summary=summary,
    )


def two_findings() -> Report:
    """A CUDA OOM (critical, with explanation and fix) then NCCL timeouts (error, seen 7 times)."""
    oom = finding(
        first=Position(line=455, ts="2024-05-14T09:41:02.118Z"),
        explanation="A process asked the GPU for more memory than was free.",
        suggestion="Lower the per-device batch size or enable activation checkpointing.",
    )
    nccl = finding(
        "NCCL watchdog timeout",
        id="F2",
        severity="error",
        category="ml.nccl_timeout",
        count=7,
        items=[evidence(470, WATCHDOG), evidence(512, "[E ProcessGroupNCCL.cpp:828] [Rank 7] …")],
        first=Position(line=470, ts="2024-05-14T09:51:03.120Z"),
        last=Position(line=512, ts="2024-05-14T09:51:03.544Z"),
    )
    return report([oom, nccl], summary="Rank 0 ran out of GPU memory; the others timed out.")


@pytest.fixture
def make_finding() -> Callable[..., Finding]:
    return finding


@pytest.fixture
def make_report() -> Callable[..., Report]:
    return report


@pytest.fixture
def make_evidence() -> Callable[..., Evidence]:
    return evidence


@pytest.fixture
def sample_report() -> Report:
    return two_findings()
