"""`console migrate` as a Helm hook, or as a plain Job for Argo CD / GitOps."""

from __future__ import annotations

from tests.helm.conftest import Chart, Manifest, find, kinds


def hook(manifest: Manifest) -> dict[str, str]:
    annotations = manifest["metadata"].get("annotations") or {}
    return {k: v for k, v in annotations.items() if k.startswith("helm.sh/hook")}


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(default: list[Manifest]) -> None:
    job = find(default, "Job")
    assert hook(job)["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_hook_gets_its_secret_and_account_before_it_runs(default: list[Manifest]) -> None:
    job = find(default, "Job")
    spec = job["spec"]["template"]["spec"]
    secret = find(default, "Secret", "-migrations")
    account = find(default, "ServiceAccount", "-migrations")
    for prerequisite in (secret, account):
        assert hook(prerequisite)["helm.sh/hook"] == hook(job)["helm.sh/hook"]
        assert int(hook(prerequisite)["helm.sh/hook-weight"]) < int(
            hook(job)["helm.sh/hook-weight"]
        )
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in spec["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert refs == {secret["metadata"]["name"]}
    assert "envFrom" not in spec["containers"][0]  # the ConfigMap does not exist yet


def test_plain_job_for_gitops(chart: Chart) -> None:
    manifests = chart.render(
        {
            "migrations": {
                "useHelmHooks": False,
                "jobAnnotations": {"argocd.argoproj.io/sync-wave": "-1"},
            }
        }
    )
    job = find(manifests, "Job")
    assert not hook(job)
    assert job["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "-1"}
    assert not any(hook(m) and m["kind"] != "Pod" for m in manifests)
    spec = job["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == find(manifests, "ServiceAccount")["metadata"]["name"]
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in spec["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert refs == {find(manifests, "Secret")["metadata"]["name"]}


def test_plain_job_name_changes_with_the_image(chart: Chart) -> None:
    def name(tag: str) -> str:
        values = {"migrations": {"useHelmHooks": False}, "image": {"tag": tag}}
        return find(chart.render(values), "Job")["metadata"]["name"]

    assert name("1.0.0") != name("1.0.1")


def test_migrations_can_be_turned_off(chart: Chart) -> None:
    assert "Job" not in kinds(chart.render({"migrations": {"enabled": False}}))
