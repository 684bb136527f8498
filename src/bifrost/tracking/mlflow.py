"""MLflow tracking: explained analyses logged as runs, and feedback added to them, off the
analysis's path.

Bifrost speaks MLflow's REST API (`/api/2.0/mlflow/…`, stable since MLflow 1.0) with httpx,
which it already has. The `mlflow` package would add a second of import, dozens of packages
and version pins that clash with Bifrost's own (its `cachetools` range excludes the
benchmarks' Drain3); the REST API is what that package calls underneath. Credentials are
read as MLflow's own client reads them: user and password in the URI, `MLFLOW_TRACKING_TOKEN`,
or `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`.

A `Tracker` owns one thread and a bounded queue: `submit` returns at once, a full queue
drops the record (counted) rather than wait, and a server that fails costs one warning
line, never an analysis. `flush` waits, for a bounded time, for what is queued: a command
calls it before it exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger("bifrost.tracking")

ANALYSIS_TAG = "bifrost.analysis_id"
"""The run's tag that names its analysis: feedback finds the run by it."""
CAPACITY = 1000
EXIT_WAIT_S = 10.0
MAX_PARAM = 6000  # MLflow's limit on a parameter's value


@dataclass(frozen=True)
class RunRecord:
    """One explained analysis, as a run: what it was asked with, how it went, what it said."""

    experiment: str
    name: str
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    artifacts: Mapping[str, str]  # file name -> text


@dataclass(frozen=True)
class FeedbackRecord:
    """A person said whether an analysis was right: its run gets `feedback` 1 or 0."""

    analysis_id: int
    good: bool
    note: str | None = None


class TrackingError(Exception):
    """The tracking server refused or could not be reached; the message says which."""


class MlflowRest:
    """The few calls of MLflow's REST API that tracking needs (synchronous: the `Tracker`'s
    thread makes them)."""

    def __init__(
        self, uri: str, *, timeout_s: float = 10.0, env: Mapping[str, str] = os.environ
    ) -> None:
        url = httpx.URL(uri.rstrip("/"))
        auth: httpx.Auth | None = None
        headers = {}
        if url.username:
            auth = httpx.BasicAuth(url.username, url.password)
            url = url.copy_with(username=None, password=None)
        elif env.get("MLFLOW_TRACKING_TOKEN"):
            headers["Authorization"] = f"Bearer {env['MLFLOW_TRACKING_TOKEN']}"
        elif env.get("MLFLOW_TRACKING_USERNAME"):
            user, password = (
                env["MLFLOW_TRACKING_USERNAME"],
                env.get("MLFLOW_TRACKING_PASSWORD", ""),
            )
            auth = httpx.BasicAuth(user, password)
        self.where = str(url)  # for messages: never the credentials
        self._http = httpx.Client(base_url=str(url), auth=auth, headers=headers, timeout=timeout_s)
        self._experiments: dict[str, str] = {}

    def close(self) -> None:
        self._http.close()

    def log_run(self, record: RunRecord) -> str:
        """Create the run, log everything, upload the artifacts, end it; its id."""
        experiment_id = self.experiment_id(record.experiment)
        now = _millis()
        created = self._call(
            "POST",
            "runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": record.name,
                "start_time": now,
                "tags": _pairs(record.tags),
            },
        )
        info = created["run"]["info"]
        run_id: str = info["run_id"]
        self._call(
            "POST",
            "runs/log-batch",
            {
                "run_id": run_id,
                "params": _pairs({k: v[:MAX_PARAM] for k, v in record.params.items()}),
                "metrics": [
                    {"key": k, "value": v, "timestamp": now, "step": 0}
                    for k, v in record.metrics.items()
                ],
            },
        )
        for name, text in record.artifacts.items():
            self._upload(info.get("artifact_uri", ""), name, text)
        self._call(
            "POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": _millis()}
        )
        return run_id

    def log_feedback(self, feedback: FeedbackRecord) -> bool:
        """Add the verdict to the analysis's run; False when no run names the analysis."""
        experiments = self._call("POST", "experiments/search", {"max_results": 1000})
        ids = [e["experiment_id"] for e in experiments.get("experiments", [])]
        if not ids:
            return False
        found = self._call(
            "POST",
            "runs/search",
            {
                "experiment_ids": ids,
                "filter": f"tags.`{ANALYSIS_TAG}` = '{feedback.analysis_id}'",
                "max_results": 1,
            },
        )
        runs = found.get("runs", [])
        if not runs:
            return False
        run_id = runs[0]["info"]["run_id"]
        tags = {"bifrost.feedback": "good" if feedback.good else "bad"}
        if feedback.note:
            tags["bifrost.feedback_note"] = feedback.note[:5000]
        self._call(
            "POST",
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [
                    {
                        "key": "feedback",
                        "value": float(feedback.good),
                        "timestamp": _millis(),
                        "step": 0,
                    }
                ],
                "tags": _pairs(tags),
            },
        )
        return True

    def experiment_id(self, name: str) -> str:
        """The id of the MLflow experiment `name`, created when it does not exist yet."""
        if name not in self._experiments:
            found = self._call(
                "GET", "experiments/get-by-name", params={"experiment_name": name}, missing_ok=True
            )
            if found is None:
                created = self._call("POST", "experiments/create", {"name": name}, exists_ok=True)
                if created is None:  # another process created it meanwhile
                    return self.experiment_id(name)
                self._experiments[name] = created["experiment_id"]
            else:
                self._experiments[name] = found["experiment"]["experiment_id"]
        return self._experiments[name]

    def _upload(self, artifact_uri: str, name: str, text: str) -> None:
        """Through the server's artifact proxy (`mlflow-artifacts:/…`, MLflow's default); a
        store the client would have to write itself (S3, a path) is left alone."""
        prefix = "mlflow-artifacts:"
        if not artifact_uri.startswith(prefix):
            log.warning(
                "MLflow artifacts not uploaded: the server does not proxy them (%s)",
                artifact_uri.split(":", 1)[0],
            )
            return
        path = artifact_uri.removeprefix(prefix).lstrip("/")
        target = f"/api/2.0/mlflow-artifacts/artifacts/{quote(path)}/{quote(name)}"
        answer = self._send("PUT", target, content=text.encode())
        if answer.status_code >= 400:
            raise TrackingError(f"{self.where} refused artifact {name}: HTTP {answer.status_code}")

    def _call(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
        missing_ok: bool = False,
        exists_ok: bool = False,
    ) -> Any:
        answer = self._send(method, f"/api/2.0/mlflow/{endpoint}", json=body, params=params)
        if answer.status_code < 400:
            return answer.json()
        code = _error_code(answer)
        if (missing_ok and code == "RESOURCE_DOES_NOT_EXIST") or (
            exists_ok and code == "RESOURCE_ALREADY_EXISTS"
        ):
            return None
        raise TrackingError(
            f"{self.where} refused {endpoint}: HTTP {answer.status_code} {code or ''}".rstrip()
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TrackingError(f"{self.where} did not answer: {type(exc).__name__}") from None


def _error_code(answer: httpx.Response) -> str | None:
    try:
        code = answer.json().get("error_code")
    except ValueError:
        return None
    return str(code) if code else None


def _pairs(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def _millis() -> int:
    return int(time.time() * 1000)


Item = RunRecord | FeedbackRecord


class Tracker:
    """A thread that sends records to MLflow in the order they came (feedback after its run)."""

    def __init__(self, client: MlflowRest, capacity: int = CAPACITY) -> None:
        self.client = client
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue[Item] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._work, name="bifrost-mlflow", daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> bool:
        """Queue a record; False (and counted) when the queue is full: never waits."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def flush(self, timeout_s: float = EXIT_WAIT_S) -> bool:
        """Wait until everything queued was sent (or failed); False if time ran out."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout_s)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if isinstance(item, RunRecord):
                    self.client.log_run(item)
                elif not self.client.log_feedback(item):
                    log.info(
                        "no MLflow run for analysis %s: feedback not tracked", item.analysis_id
                    )
            except TrackingError as exc:
                self.failed += 1
                log.warning("MLflow tracking failed: %s", exc)
            except Exception:  # a tracking bug must never take the analysis down
                self.failed += 1
                log.exception("MLflow tracking failed")
            finally:
                self._queue.task_done()


_TRACKERS: dict[str, Tracker] = {}
_LOCK = threading.Lock()


def tracker_for(uri: str) -> Tracker:
    """This process's tracker for `uri`, started on first use and flushed at exit."""
    with _LOCK:
        tracker = _TRACKERS.get(uri)
        if tracker is None:
            tracker = _TRACKERS[uri] = Tracker(MlflowRest(uri))
            atexit.register(tracker.flush)
        return tracker
