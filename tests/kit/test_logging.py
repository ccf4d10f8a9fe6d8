"""Structured logs: every line of a request carries its request id, tenant and user; secrets
never appear."""

from __future__ import annotations

import json
import logging

import pytest
from httpx import AsyncClient

from console.kit.logging import configure_logging, redact_secrets
from tests.conftest import as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio


def test_redaction_of_secret_keys_and_token_values():
    event = redact_secrets(
        None,
        "info",
        {
            "event": "called with Bearer cnsl_abcdefghijkl_SECRETSECRETSECRETSECRETSECRET",
            "password": "hunter2",
            "headers": {"Authorization": "Bearer xyz", "accept": "json"},
            "client_secret": "s3cr3t",
            "note": "token cnsl_abcdefghijkl_SECRETSECRETSECRETSECRETSECRET",
        },
    )
    dumped = json.dumps(event)
    assert "SECRET" not in dumped
    for secret in ("hunter2", "s3cr3t", "xyz"):
        assert secret not in dumped
    assert event["headers"]["accept"] == "json"


async def test_request_log_lines_carry_context_and_no_secrets(
    client: AsyncClient, factory: Factory, capsys: pytest.CaptureFixture[str]
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    configure_logging("INFO", json=True)
    try:
        await client.get(f"/api/v1/tenants/{tenant.slug}/projects?q=x", headers=as_token(viewer))
    finally:
        configure_logging("WARNING", json=False)
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("event") == "request"]
    assert access, lines
    line = access[-1]
    assert line["tenant"] == tenant.slug
    assert line["user_id"] == str(viewer.id)
    assert line["route"] == "/api/v1/tenants/{tenant}/projects"
    assert len(line["request_id"]) == 32
    assert viewer.token not in json.dumps(lines)
    logging.getLogger().handlers.clear()
