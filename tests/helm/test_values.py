"""Values the chart must refuse: what the app would refuse in production, and schema errors."""

from __future__ import annotations

import pytest

from tests.helm.conftest import Chart


def test_rendering_with_only_the_defaults_fails_and_says_what_to_set(chart: Chart) -> None:
    message = chart.error(base=False)
    assert "is required" in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"image": {"repository": ""}}, "image.repository is required"),
        ({"console": {"publicBaseUrl": ""}}, "console.publicBaseUrl is required"),
        ({"console": {"publicBaseUrl": "http://console.example.com"}}, "must be https://"),
        ({"secrets": {"secretKey": ""}}, "secrets.secretKey is required"),
        ({"secrets": {"secretKey": "dev-insecure-secret-key-change-me"}}, "development default"),
        ({"secrets": {"secretKey": "short"}}, "shorter than 32"),
        ({"secrets": {"databaseUrl": ""}}, "secrets.databaseUrl is required"),
        ({"secrets": {"databaseUrl": "sqlite+aiosqlite:///var/console.db"}}, "SQLite"),
        ({"secrets": {"brokerUrl": ""}}, "secrets.brokerUrl is required"),
        ({"secrets": {"brokerUrl": "filesystem://var/broker"}}, "redis://"),
        ({"console": {"platformOidc": {"issuer": ""}}}, "console.platformOidc.issuer"),
        ({"secrets": {"platformOidcClientSecret": ""}}, "platformOidcClientSecret is required"),
        ({"web": {"terminationGracePeriodSeconds": 30}}, "preStopSleepSeconds + 30"),
        ({"ingress": {"host": ""}}, "ingress.host is required"),
        ({"networkPolicy": {"database": {"cidrs": []}}}, "networkPolicy.database.cidrs"),
        ({"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}, "minReplicas"),
        ({"keda": {"enabled": True}}, "keda.redis.address"),
    ],
)
def test_insecure_or_incomplete_values_fail_with_a_clear_message(
    chart: Chart, values: dict, expected: str
) -> None:
    assert expected in chart.error(values)


def test_dev_environment_needs_no_oidc_nor_https(chart: Chart) -> None:
    chart.render(
        {
            "console": {"environment": "dev", "publicBaseUrl": "http://console.local"},
            "secrets": {"platformOidcClientSecret": ""},
        }
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"web": {"replicas": "two"}}, "web.replicas: Invalid type"),
        ({"bogus": 1}, "Additional property bogus is not allowed"),
        ({"web": {"bogus": 1}}, "Additional property bogus is not allowed"),
        ({"console": {"environment": "staging"}}, "console.environment"),
        ({"image": {"pullPolicy": "Sometimes"}}, "image.pullPolicy"),
        ({"console": {"workerPool": "gevent"}}, "console.workerPool"),
        ({"image": {"digest": "latest"}}, "image.digest"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "podSecurityContext.runAsNonRoot"),
        ({"keda": {"minReplicaCount": 0}}, "keda.minReplicaCount"),
        ({"networkPolicy": {"database": {"cidrs": ["db.internal"]}}}, "cidrs.0"),
        ({"console": {"extraConfig": {"SECRET": "x"}}}, "extraConfig"),
    ],
)
def test_values_schema_rejects_bad_values(chart: Chart, values: dict, expected: str) -> None:
    message = chart.error(values)
    assert "don't meet the specifications of the schema" in message
    assert expected in message
