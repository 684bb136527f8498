"""The deployment files: the image (Dockerfile), the compose stack and the Kubernetes
manifests, checked statically (no Docker daemon or cluster on these machines) and against the
app itself: every probe and health check asks a route that exists, every command the images
run is one the CLI has, and every setting the app reads is documented for deployers.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from bifrost.analysis import open_cache
from bifrost.brokers import Channels
from bifrost.brokers.redis_streams import RedisStreams
from bifrost.config import Settings
from bifrost.store import open_store
from bifrost.worker.consumer import Context
from bifrost.worker.health import health_app
from bifrost.worker.service import Worker
from tests.api.conftest import serving
from tests.conftest import missing

ROOT = Path(__file__).parents[2]
KUBERNETES = ROOT / "deploy/kubernetes"
KUBERNETES_VERSION = "1.33"
"""The Kubernetes minor version the manifests are validated for."""
CUSTOM_KINDS = {"ServiceMonitor"}  # the Prometheus operator's; no schema ships for it
ENV = re.compile(r"\b(?:BIFROST|OLLAMA|AWS)_[A-Z0-9_]+\b")


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def render(folder: Path) -> list[dict[str, Any]]:
    """What `kubectl apply -k` applies for a kustomization of plain resources: the resources
    (and components), the image set by `images`, the common labels added."""
    kustomization = load_all(folder / "kustomization.yaml")[0]
    docs = []
    for name in kustomization.get("resources", []):
        resource = folder / name
        docs += render(resource) if resource.is_dir() else load_all(resource)
    for component in kustomization.get("components", []):
        docs += render(folder / component)
    images = {image["name"]: image for image in kustomization.get("images", [])}
    labels = {k: v for entry in kustomization.get("labels", []) for k, v in entry["pairs"].items()}
    for doc in docs:
        doc["metadata"].setdefault("labels", {}).update(labels)
        if "namespace" in kustomization and doc["kind"] != "Namespace":
            doc["metadata"]["namespace"] = kustomization["namespace"]
        for container in containers(doc):
            name = container["image"].split("@")[0].rsplit(":", 1)[0]
            if (image := images.get(name)) is not None:
                suffix = f"@{image['digest']}" if "digest" in image else f":{image['newTag']}"
                container["image"] = image.get("newName", name) + suffix
    return docs


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] in ("Deployment", "Job"):
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    return None


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec["containers"]] if spec else []


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


BASE = render(KUBERNETES)
COMPONENTS = {
    path.parent.name: render(path.parent)
    for path in KUBERNETES.glob("components/*/kustomization.yaml")
}
PRODUCTION = render(KUBERNETES / "overlays/production")
EVERYTHING = [*BASE, *(doc for docs in COMPONENTS.values() for doc in docs)]


def test_the_kustomization_lists_every_manifest_in_one_namespace() -> None:
    kustomization = load_all(KUBERNETES / "kustomization.yaml")[0]
    present = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == present
    assert set(COMPONENTS) == {"ingress", "servicemonitor"}
    namespace = named(BASE, "Namespace", kustomization["namespace"])
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in EVERYTHING:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == kustomization["namespace"], doc["kind"]


@pytest.mark.parametrize("doc", EVERYTHING, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_for_kubernetes(doc: dict[str, Any]) -> None:
    if doc["kind"] in CUSTOM_KINDS:
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert doc["spec"]["endpoints"]
        assert doc["spec"]["selector"]["matchLabels"]
        return
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_example_overlay_adds_the_components_and_pins_the_image() -> None:
    kinds = sorted({doc["kind"] for doc in PRODUCTION} - {doc["kind"] for doc in BASE})
    assert kinds == ["Ingress", "ServiceMonitor"]
    images = {c["image"] for doc in PRODUCTION for c in containers(doc)}
    assert images == {"ghcr.io/example/bifrost@sha256:" + "0" * 64}
    assert len(PRODUCTION) == len(BASE) + 3


def test_every_pod_runs_locked_down() -> None:
    pods = [doc for doc in BASE if pod_spec(doc) is not None]
    assert {d["metadata"]["name"] for d in pods} == {
        "bifrost-api",
        "bifrost-worker",
        "bifrost-migrate",
    }
    for doc in pods:
        spec = pod_spec(doc)
        assert spec is not None
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in containers(doc):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert context["runAsUser"] >= 10000
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}
            # Bifrost writes under /tmp alone (Dockerfile): a writable emptyDir there.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp
            assert container["image"] == "ghcr.io/example/bifrost:0.1.0"
    policies = {
        d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for d in BASE
        if d["kind"] == "NetworkPolicy"
    }
    assert policies == {"api", "worker", "migrate"}


def test_the_api_scales_from_2_to_10_replicas_at_70_percent_cpu() -> None:
    hpa = named(BASE, "HorizontalPodAutoscaler", "bifrost-api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["scaleTargetRef"]["name"] == "bifrost-api"
    (metric,) = hpa["metrics"]
    assert metric["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    worker = named(BASE, "HorizontalPodAutoscaler", "bifrost-worker")["spec"]
    assert worker["scaleTargetRef"]["name"] == "bifrost-worker"
    assert named(BASE, "PodDisruptionBudget", "bifrost-api")["spec"]["minAvailable"] == 1


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def probe_paths(component: str) -> set[str]:
    (container,) = containers(named(BASE, "Deployment", f"bifrost-{component}"))
    return {
        container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
        if probe in container
    }


def healthcheck_paths() -> tuple[set[str], set[str]]:
    """The paths the image's HEALTHCHECK (the API) and compose's worker health check ask."""
    image = set(re.findall(r"127\.0\.0\.1:8000(/\w+)", dockerfile()))
    worker = set(re.findall(r"127\.0\.0\.1:9101(/\w+)", str(compose()["services"]["worker"])))
    return image, worker


def test_probes_and_health_checks_ask_routes_that_exist(tmp_path: Path) -> None:
    image, compose_worker = healthcheck_paths()
    api_paths = probe_paths("api") | image
    worker_paths = probe_paths("worker") | compose_worker
    assert api_paths == {"/healthz", "/readyz"}
    assert worker_paths == {"/healthz", "/readyz"}
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'history.db'}",
        engine_processes=0,
        auth=False,
    )

    async def main() -> None:
        async with serving(settings) as api:
            for path in sorted(api_paths):
                assert (await api.get(path)).status_code == 200, path
        async with await open_store(settings) as store:
            context = Context(settings, store, open_cache(settings, store))
            broker = RedisStreams("redis://127.0.0.1:1/0", Channels())  # down: /readyz says 503
            worker = health_app(Worker(broker, context, "probed"))
            transport = httpx.ASGITransport(app=worker)
            async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
                for path in sorted(worker_paths):
                    assert (await client.get(path)).status_code in (200, 503), path

    asyncio.run(main())


def commands() -> list[list[str]]:
    """Every command line the image runs: its CMD, the manifests' args, compose's commands."""
    found = [
        re.findall(r'"([^"]+)"', line)
        for line in dockerfile().splitlines()
        if line.startswith("CMD")
    ]
    found += [c["args"] for doc in BASE for c in containers(doc)]
    services = compose()["services"].values()
    found += [s["command"] for s in services if str(s.get("image", "")).startswith("bifrost:")]
    return found


def test_the_commands_the_image_runs_exist() -> None:
    assert re.search(r'^ENTRYPOINT \["bifrost"\]$', dockerfile(), re.M)
    found = commands()
    assert {c[0] for c in found} == {"serve", "worker", "db"}
    for command in found:
        run = subprocess.run(
            [sys.executable, "-m", "bifrost", *command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, (command, run.stderr)


def documented_variables() -> set[str]:
    """Every environment variable the app reads: its settings, and the names in its code."""
    names = {f"BIFROST_{name.upper()}" for name in Settings.model_fields}
    for path in (ROOT / "src/bifrost").rglob("*.py"):
        names |= set(ENV.findall(path.read_text(encoding="utf-8")))
    return names - {"BIFROST_"}


def test_every_variable_the_app_reads_is_documented_for_deployers() -> None:
    read = documented_variables()
    compose_env = set(ENV.findall((ROOT / "deploy/bifrost.env.example").read_text()))
    assert read - compose_env == set()
    kubernetes = (KUBERNETES / "configmap.yaml").read_text() + (
        KUBERNETES / "secret.example.env"
    ).read_text()
    settings = {f"BIFROST_{name.upper()}" for name in Settings.model_fields}
    assert settings - set(ENV.findall(kubernetes)) == set()


def test_the_compose_stack_waits_for_what_it_needs() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for target, need in service.get("depends_on", {}).items():
            condition = need["condition"]
            if condition == "service_healthy":
                assert "test" in services[target]["healthcheck"], (name, target)
            else:
                assert condition == "service_completed_successfully", (name, target)
                assert services[target]["restart"] == "no"
    for name in ("api", "worker", "migrate"):
        service = services[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert service["env_file"] == [{"path": "bifrost.env", "required": False}]
    assert "bifrost.env" in (ROOT / ".gitignore").read_text().split()
    assert services["ollama"]["profiles"] == ["ollama"]


def tool(installed: Path, name: str, how: str) -> str:
    """The project's own copy of a linter, else one on PATH; missing, a failure in CI."""
    found = str(installed) if installed.exists() else shutil.which(name)
    if found is None:
        missing(f"{name} is not installed ({how})")
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = tool(Path(sys.executable).with_name("hadolint"), "hadolint", "make setup")
    run = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(
    ("framework", "target"),
    [("dockerfile", ["-f", "Dockerfile"]), ("kubernetes", ["-d", "deploy/kubernetes"])],
)
def test_checkov_finds_nothing(framework: str, target: list[str]) -> None:
    """Every finding fails (offline, checkov knows no severities); a skipped check says why
    where it is skipped (`checkov.io/skip…` annotations)."""
    checkov = tool(ROOT / ".venv-tools/bin/checkov", "checkov", "make deploy-tools")
    run = subprocess.run(
        [checkov, "--quiet", "--compact", "--skip-download", "--framework", framework, *target],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"{framework} scan results" in run.stdout
    assert "Failed checks: 0" in run.stdout
