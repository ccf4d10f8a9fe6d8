"""Downloads: a link from download-link works only for its user, inside its tenant, until it
expires; an export past its retention is gone (410) with a clear message."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from console.jobs.files import export_path
from console.jobs.links import download_signer
from tests.conftest import as_cookie, as_token
from tests.factories import Factory
from tests.jobs.fakes import finished_export, finished_import, make_job
from tests.jobs.test_jobs_api import actions, problem

pytestmark = pytest.mark.anyio

API = "/api/v1/tenants"
CONTENT = "key,name\r\nP1,One\r\n"


async def link(client: AsyncClient, slug: str, job_id, headers: dict, file: str = "export"):
    return await client.post(
        f"{API}/{slug}/jobs/{job_id}/download-link", params={"file": file}, headers=headers
    )


async def test_a_viewer_downloads_a_finished_export(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    job = await finished_export(factory.db, app.state.settings, tenant.id, content=CONTENT)
    got = (await client.get(f"{API}/{tenant.slug}/jobs/{job.id}", headers=as_token(viewer))).json()
    assert got["can_download"] is True

    response = await link(client, tenant.slug, job.id, as_token(viewer))
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["filename"] == "projects.csv"
    assert issued["url"].startswith(f"/api/v1/tenants/{tenant.slug}/jobs/{job.id}/download?")

    # A browser follows the link with its session cookie.
    download = await client.get(issued["url"], headers=as_cookie(viewer, app))
    assert download.status_code == 200, download.text
    assert download.text == CONTENT
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert 'filename="projects.csv"' in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"
    assert await actions(factory, tenant.id, str(job.id)) == ["job.downloaded"]


async def test_an_import_report_downloads_too(app: FastAPI, client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await finished_import(factory.db, app.state.settings, tenant.id, report="line\r\n3\r\n")
    problem(await link(client, tenant.slug, job.id, as_token(member)), 409)  # no export file
    issued = (await link(client, tenant.slug, job.id, as_token(member), file="report")).json()
    assert issued["filename"] == "report.csv"
    download = await client.get(issued["url"], headers=as_token(member))
    assert download.status_code == 200
    assert download.text == "line\r\n3\r\n"


async def test_the_link_is_for_its_user_job_and_file_only(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    owner = await factory.actor(tenant, "member")
    colleague = await factory.actor(tenant, "admin")
    job = await finished_export(factory.db, app.state.settings, tenant.id)
    other_job = await finished_export(factory.db, app.state.settings, tenant.id)
    url = (await link(client, tenant.slug, job.id, as_token(owner))).json()["url"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    base = f"{API}/{tenant.slug}/jobs"

    # Another member of the same tenant cannot use someone else's link.
    problem(await client.get(url, headers=as_token(colleague)), 403)
    # Nor can the link be pointed at another job, another file, or a later expiry.
    problem(
        await client.get(f"{base}/{other_job.id}/download", params=query, headers=as_token(owner)),
        403,
    )
    problem(
        await client.get(
            f"{base}/{job.id}/download", params={**query, "file": "report"}, headers=as_token(owner)
        ),
        403,
    )
    later = {**query, "expires": str(int(query["expires"]) + 3600)}
    problem(
        await client.get(f"{base}/{job.id}/download", params=later, headers=as_token(owner)), 403
    )
    problem(
        await client.get(
            f"{base}/{job.id}/download",
            params={**query, "signature": query["signature"][:-2] + "AA"},
            headers=as_token(owner),
        ),
        403,
    )
    # Membership is needed as well as the signature: anonymous is a 401.
    problem(await client.get(url), 401)
    assert await actions(factory, tenant.id, str(job.id)) == []


async def test_an_expired_link_is_gone(app: FastAPI, client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await finished_export(factory.db, app.state.settings, tenant.id)
    expires = 1_000_000  # long past, but correctly signed
    signer = download_signer(app.state.settings.secret_key.get_secret_value())
    signature = signer.sign(tenant.id, job.id, "export", member.id, expires)
    body = problem(
        await client.get(
            f"{API}/{tenant.slug}/jobs/{job.id}/download",
            params={"file": "export", "expires": expires, "signature": signature},
            headers=as_token(member),
        ),
        410,
    )
    assert "link has expired" in body["detail"]


async def test_an_export_past_its_retention_is_gone(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    expired = await finished_export(
        factory.db, app.state.settings, tenant.id, expires_in=timedelta(seconds=-1)
    )
    got = await client.get(f"{API}/{tenant.slug}/jobs/{expired.id}", headers=as_token(member))
    assert got.json()["can_download"] is False
    body = problem(await link(client, tenant.slug, expired.id, as_token(member)), 410)
    assert body["detail"] == "This export has expired; run it again."

    # A link given out before the cleanup deleted the file.
    job = await finished_export(factory.db, app.state.settings, tenant.id)
    url = (await link(client, tenant.slug, job.id, as_token(member))).json()["url"]
    export_path(app.state.settings, tenant.id, job.id).unlink()
    body = problem(await client.get(url, headers=as_token(member)), 410)
    assert body["detail"] == "This export has expired; run it again."


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled"])
async def test_no_link_before_the_export_succeeded(
    client: AsyncClient, factory: Factory, status: str
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    job = await make_job(factory.db, tenant.id, kind="export", status=status)
    problem(await link(client, tenant.slug, job.id, as_token(viewer)), 409)
    problem(
        await client.post(
            f"{API}/{tenant.slug}/jobs/{job.id}/download-link",
            params={"file": "csv"},
            headers=as_token(viewer),
        ),
        422,
    )


async def test_another_tenants_user_gets_404_even_with_a_valid_link(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    a, b = await factory.tenant(), await factory.tenant()
    a_member = await factory.actor(a, "member")
    b_admin = await factory.actor(b, "admin")
    job = await finished_export(factory.db, app.state.settings, a.id)
    url = (await link(client, a.slug, job.id, as_token(a_member))).json()["url"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    # Through tenant A (not a member) and through their own tenant B (A's job is not there).
    problem(await client.get(url, headers=as_cookie(b_admin, app)), 404)
    problem(
        await client.get(
            f"{API}/{b.slug}/jobs/{job.id}/download", params=query, headers=as_token(b_admin)
        ),
        404,
    )
    # A link B's admin signed for themselves in B does not open A's job either.
    signer = download_signer(app.state.settings.secret_key.get_secret_value())
    own = signer.sign(b.id, job.id, "export", b_admin.id, int(query["expires"]))
    problem(
        await client.get(
            f"{API}/{b.slug}/jobs/{job.id}/download",
            params={**query, "signature": own},
            headers=as_token(b_admin),
        ),
        404,
    )
