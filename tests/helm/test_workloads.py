"""Web and worker Deployments: labels, probes, one uvicorn worker, draining, shared files."""

from __future__ import annotations

from tests.helm.conftest import Chart, Manifest, container, find, kinds


def test_selectors_match_pod_labels_and_services_select_web(default: list[Manifest]) -> None:
    for deployment in (m for m in default if m["kind"] == "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
        assert {"app.kubernetes.io/name", "app.kubernetes.io/instance"} <= selector.keys()
    web = find(default, "Deployment", "-web")
    service = find(default, "Service")
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    for pdb in (m for m in default if m["kind"] == "PodDisruptionBudget"):
        component = pdb["metadata"]["name"].rsplit("-", 1)[1]
        target = find(default, "Deployment", f"-{component}")
        assert pdb["spec"]["selector"] == target["spec"]["selector"]


def test_web_probes_use_livez_and_readyz_on_the_http_port(default: list[Manifest]) -> None:
    web = container(find(default, "Deployment", "-web"))
    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    probes = {name: web[name]["httpGet"] for name in ("startupProbe", "livenessProbe")}
    assert all(p == {"path": "/livez", "port": "http"} for p in probes.values())
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_web_runs_one_uvicorn_worker_via_console_serve(default: list[Manifest]) -> None:
    web = container(find(default, "Deployment", "-web"))
    assert "command" not in web  # the image's entrypoint is `console`
    assert web["args"][0] == "serve"
    assert not any("worker" in arg for arg in web["args"])
    env_names = {e["name"] for e in web.get("env", [])}
    assert "WEB_CONCURRENCY" not in env_names


def test_web_drains_sessions_before_stopping(default: list[Manifest]) -> None:
    spec = find(default, "Deployment", "-web")["spec"]["template"]["spec"]
    sleep = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    # preStop, then uvicorn's 25 s graceful shutdown, must fit in the grace period.
    assert spec["terminationGracePeriodSeconds"] >= int(sleep[1]) + 30


def test_worker_has_a_long_grace_period_and_a_local_liveness_probe(
    default: list[Manifest],
) -> None:
    deployment = find(default, "Deployment", "-worker")
    worker = container(deployment)
    assert worker["args"] == ["worker"]
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 120
    command = " ".join(worker["livenessProbe"]["exec"]["command"])
    assert "celery" not in command
    assert "inspect" not in command
    assert "readinessProbe" not in worker


def test_worker_liveness_checks_the_file_the_worker_touches(chart: Chart) -> None:
    manifests = chart.render({"worker": {"heartbeatFile": "/app/var/worker-alive"}})
    worker = container(find(manifests, "Deployment", "-worker"))
    assert "/app/var/worker-alive" in worker["livenessProbe"]["exec"]["command"][-1]
    env = {e["name"]: e.get("value") for e in worker["env"]}
    assert env["CONSOLE_WORKER_LIVENESS_FILE"] == "/app/var/worker-alive"


def test_without_a_liveness_file_the_probe_checks_the_process(chart: Chart) -> None:
    manifests = chart.render({"worker": {"heartbeatFile": ""}})
    worker = container(find(manifests, "Deployment", "-worker"))
    assert "/proc/1/status" in worker["livenessProbe"]["exec"]["command"][-1]
    assert "CONSOLE_WORKER_LIVENESS_FILE" not in {e["name"] for e in worker["env"]}


def test_web_and_workers_share_the_files_claim(default: list[Manifest]) -> None:
    claim = find(default, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    config = find(default, "ConfigMap")["data"]
    for name in ("-web", "-worker"):
        spec = find(default, "Deployment", name)["spec"]["template"]["spec"]
        volume = next(v for v in spec["volumes"] if v["name"] == "files")
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "files")
        assert mount["mountPath"] == config["CONSOLE_FILES_DIR"]


def test_an_existing_claim_is_used_instead_of_a_new_one(chart: Chart) -> None:
    manifests = chart.render({"files": {"persistence": {"existingClaim": "shared-files"}}})
    assert "PersistentVolumeClaim" not in kinds(manifests)
    spec = find(manifests, "Deployment", "-worker")["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "files")
    assert volume["persistentVolumeClaim"]["claimName"] == "shared-files"


def test_config_changes_roll_the_pods(chart: Chart, default: list[Manifest]) -> None:
    def checksums(manifests: list[Manifest]) -> dict[str, str]:
        web = find(manifests, "Deployment", "-web")["spec"]["template"]["metadata"]
        return {k: v for k, v in web["annotations"].items() if k.startswith("checksum/")}

    before = checksums(default)
    assert before.keys() == {"checksum/config", "checksum/secret"}
    config_changed = checksums(chart.render({"console": {"logLevel": "DEBUG"}}))
    assert config_changed["checksum/config"] != before["checksum/config"]
    assert config_changed["checksum/secret"] == before["checksum/secret"]
    secret_changed = checksums(chart.render({"secrets": {"secretKey": "another-" + "k" * 40}}))
    assert secret_changed["checksum/secret"] != before["checksum/secret"]
