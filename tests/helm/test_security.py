"""Restricted pods, no service account token, network policies, credentials from Secrets."""

from __future__ import annotations

import pytest

from tests.helm.conftest import Chart, Manifest, find, kinds, pod_specs

SECRET_ENV = {"CONSOLE_SECRET_KEY", "CONSOLE_DATABASE_URL", "CONSOLE_BROKER_URL"}


@pytest.fixture(scope="module")
def every_pod(chart: Chart, default: list[Manifest]) -> dict[str, Manifest]:
    """Pods of the default scenario plus the plain migrations Job and the KEDA variant."""
    plain_job = chart.render({"migrations": {"useHelmHooks": False}})
    return {**pod_specs(default), **pod_specs(plain_job)}


def test_every_container_runs_restricted(every_pod: dict[str, Manifest]) -> None:
    assert {"t-console-web", "t-console-worker", "t-console-migrate", "t-console-test-readyz"} <= (
        every_pod.keys()
    )
    for name, spec in every_pod.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] == 10001, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for c in spec["containers"] + spec.get("initContainers", []):
            ctx = c["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["runAsNonRoot"] is True, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert c["resources"]["requests"], name
            assert c["resources"]["limits"], name


def test_writable_paths_are_empty_dirs(default: list[Manifest]) -> None:
    spec = find(default, "Deployment", "-web")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 - a mount path
    assert "emptyDir" in volumes[mounts["/app/var"]]


def test_no_pod_gets_a_service_account_token(
    default: list[Manifest], every_pod: dict[str, Manifest]
) -> None:
    for account in (m for m in default if m["kind"] == "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    assert all(spec["automountServiceAccountToken"] is False for spec in every_pod.values())


def test_network_policies_deny_by_default(default: list[Manifest]) -> None:
    deny = find(default, "NetworkPolicy", "-default-deny")["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    selector = deny["podSelector"]["matchLabels"]
    # The deny covers every pod of the release (web, worker, migrations, test).
    for spec_owner in (m for m in default if m["kind"] in ("Deployment", "Job")):
        assert selector.items() <= spec_owner["spec"]["template"]["metadata"]["labels"].items()


def test_network_policies_allow_only_what_is_needed(default: list[Manifest]) -> None:
    egress = find(default, "NetworkPolicy", "-egress")["spec"]["egress"]
    ports = [{p["port"] for p in rule["ports"]} for rule in egress]
    assert ports == [{53}, {5432}, {6379}]
    assert egress[1]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/24"}}]
    web = find(default, "NetworkPolicy", "-web")["spec"]
    controller = web["ingress"][0]["from"][0]
    assert controller["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    (idp,) = web["egress"]
    assert idp["ports"] == [{"protocol": "TCP", "port": 443}]


def test_identity_provider_egress_can_be_narrowed_or_off(chart: Chart) -> None:
    blocks = [{"cidr": "203.0.113.0/24"}]
    narrowed = chart.render({"networkPolicy": {"identityProviders": {"ipBlocks": blocks}}})
    egress = find(narrowed, "NetworkPolicy", "-web")["spec"]["egress"]
    assert egress[0]["to"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}]
    off = chart.render({"networkPolicy": {"identityProviders": {"enabled": False}}})
    assert not find(off, "NetworkPolicy", "-web")["spec"].get("egress")


def secret_refs(spec: Manifest) -> list[Manifest]:
    return [
        e["valueFrom"]["secretKeyRef"]
        for c in spec["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]


def test_credentials_come_from_the_rendered_secret(default: list[Manifest]) -> None:
    secret = find(default, "Secret", "t-console")
    assert {"secret-key", "database-url", "broker-url"} <= secret["data"].keys()
    web = find(default, "Deployment", "-web")
    env = {e["name"] for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env >= SECRET_ENV
    assert "CONSOLE_MIGRATIONS_DATABASE_URL" not in env  # the owner role stays with the Job
    refs = secret_refs(web["spec"]["template"]["spec"])
    assert {r["name"] for r in refs} == {"t-console"}
    assert {r["key"] for r in refs} <= secret["data"].keys()


def test_an_existing_secret_is_used_everywhere_and_none_is_rendered(chart: Chart) -> None:
    manifests = chart.render({"secrets": {"existingSecret": "console-credentials"}})
    assert "Secret" not in kinds(manifests)
    specs = pod_specs(manifests)
    for name in ("t-console-web", "t-console-worker", "t-console-migrate"):
        refs = secret_refs(specs[name])
        assert refs, name
        assert {r["name"] for r in refs} == {"console-credentials"}, name
    web = find(manifests, "Deployment", "-web")["spec"]["template"]
    assert "checksum/secret" not in web["metadata"]["annotations"]
    env = {e["name"] for e in web["spec"]["containers"][0]["env"]}
    assert env >= SECRET_ENV | {"CONSOLE_PLATFORM_OIDC_CLIENT_SECRET"}
    assert all("value" not in e for e in web["spec"]["containers"][0]["env"])


def test_config_map_holds_only_non_secret_settings(default: list[Manifest]) -> None:
    data = find(default, "ConfigMap")["data"]
    assert data["CONSOLE_ENVIRONMENT"] == "prod"
    assert data["CONSOLE_EMBEDDED_WORKER"] == "false"
    assert data["CONSOLE_SEED_DEMO"] == "false"
    assert not any(k in data for k in SECRET_ENV | {"CONSOLE_PLATFORM_OIDC_CLIENT_SECRET"})
    assert "ci-password" not in str(data)
