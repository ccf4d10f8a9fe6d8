"""Ingress (sticky, websocket-safe) and the Gateway API alternative."""

from __future__ import annotations

from tests.helm.conftest import Chart, Manifest, find, kinds

NGINX = "nginx.ingress.kubernetes.io/"


def test_ingress_sends_a_browser_back_to_its_pod(default: list[Manifest]) -> None:
    annotations = find(default, "Ingress")["metadata"]["annotations"]
    assert annotations[NGINX + "affinity"] == "cookie"
    assert annotations[NGINX + "affinity-mode"] == "persistent"
    assert annotations[NGINX + "session-cookie-name"] == "console_route"
    assert annotations[NGINX + "session-cookie-path"] == "/"
    assert annotations[NGINX + "session-cookie-max-age"] == "1209600"
    assert annotations[NGINX + "session-cookie-secure"] == "true"


def test_ingress_does_not_cut_idle_websockets(default: list[Manifest]) -> None:
    annotations = find(default, "Ingress")["metadata"]["annotations"]
    idle = int(find(default, "ConfigMap")["data"]["CONSOLE_SESSION_IDLE_TIMEOUT_SECONDS"])
    assert int(annotations[NGINX + "proxy-read-timeout"]) >= idle
    assert int(annotations[NGINX + "proxy-send-timeout"]) >= idle


def test_ingress_accepts_the_largest_upload(default: list[Manifest]) -> None:
    annotations = find(default, "Ingress")["metadata"]["annotations"]
    limit = int(find(default, "ConfigMap")["data"]["CONSOLE_UPLOAD_MAX_BYTES"])
    assert int(annotations[NGINX + "proxy-body-size"].removesuffix("m")) * 2**20 >= limit


def test_short_websocket_timeouts_are_refused(chart: Chart) -> None:
    message = chart.error({"ingress": {"websocketTimeoutSeconds": 60}})
    assert "websocketTimeoutSeconds" in message


def test_http_route_uses_cookie_session_persistence(chart: Chart) -> None:
    manifests = chart.render(
        {
            "ingress": {"enabled": False},
            "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]},
        }
    )
    assert "Ingress" not in kinds(manifests)
    (rule,) = find(manifests, "HTTPRoute")["spec"]["rules"]
    assert rule["sessionPersistence"]["type"] == "Cookie"
    assert rule["backendRefs"][0]["name"] == find(manifests, "Service")["metadata"]["name"]
