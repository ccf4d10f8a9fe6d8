"""Autoscaling (HPA for web, optional KEDA for workers) and disruption budgets."""

from __future__ import annotations

from tests.helm.conftest import Chart, Manifest, find, kinds


def test_hpa_owns_web_replicas_and_scales_down_slowly(default: list[Manifest]) -> None:
    assert "replicas" not in find(default, "Deployment", "-web")["spec"]
    hpa = find(default, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"].endswith("-web")
    down = hpa["spec"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] >= 600
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 600}]


def test_without_hpa_web_replicas_are_fixed(chart: Chart) -> None:
    manifests = chart.render({"autoscaling": {"enabled": False}, "web": {"replicas": 3}})
    assert "HorizontalPodAutoscaler" not in kinds(manifests)
    assert find(manifests, "Deployment", "-web")["spec"]["replicas"] == 3


def test_keda_scales_workers_on_the_celery_queue(chart: Chart) -> None:
    manifests = chart.render({"keda": {"enabled": True, "redis": {"address": "redis:6379"}}})
    scaled = find(manifests, "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"].endswith("-worker")
    assert scaled["spec"]["minReplicaCount"] >= 1  # workers also run the reaper
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == "console.jobs"  # console.jobs.dispatch.QUEUE
    assert "replicas" not in find(manifests, "Deployment", "-worker")["spec"]
    assert "TriggerAuthentication" not in kinds(manifests)


def test_keda_redis_password_comes_from_the_console_secret(chart: Chart) -> None:
    manifests = chart.render(
        {
            "secrets": {"existingSecret": "creds"},
            "keda": {"enabled": True, "redis": {"address": "r:6379", "usePassword": True}},
        }
    )
    auth = find(manifests, "TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "password", "name": "creds", "key": "redis-password"}
    ]
    trigger = find(manifests, "ScaledObject")["spec"]["triggers"][0]
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]


def test_disruption_budgets_cover_web_and_workers(default: list[Manifest]) -> None:
    budgets = {
        m["metadata"]["name"]: m["spec"] for m in default if m["kind"] == "PodDisruptionBudget"
    }
    assert set(budgets) == {"t-console-web", "t-console-worker"}
    assert all(spec["maxUnavailable"] == 1 for spec in budgets.values())


def test_hpa_can_also_scale_on_memory(chart: Chart) -> None:
    manifests = chart.render({"autoscaling": {"targetMemoryUtilizationPercentage": 80}})
    metrics = find(manifests, "HorizontalPodAutoscaler")["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics] == ["cpu", "memory"]
