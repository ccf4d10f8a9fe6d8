"""Export and import on the projects screen: Export starts a job for the current filter; Import
picks a CSV (FilePicker), gets a signed upload URL, lets the browser PUT the file, starts the
import and opens the job. Viewers see neither."""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ORIGIN
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import EVENT, INVOKE, InProcessBrowser
from tests.dashboard.jobs_helpers import recording_dispatcher, snack_action
from tests.factories import Factory
from tests.jobs.fakes import RecordingDispatcher

pytestmark = pytest.mark.anyio
CSV = b"key,name\r\nWEB,Website\r\nAPI,Public API\r\n"


@pytest.fixture
def recorder(app: FastAPI) -> Iterator[RecordingDispatcher]:
    with recording_dispatcher(app) as dispatcher:
        yield dispatcher


class BrowserUploads:
    """What the Flutter client does for FilePicker.upload: PUT the picked file's bytes to the
    upload URL (resolved against the page's origin), reporting progress as "upload" events."""

    def __init__(self, tab: InProcessBrowser, app: FastAPI, content: bytes) -> None:
        self.tab, self.app, self.content = tab, app, content
        self.calls: list[dict[str, Any]] = []
        self.responses: list[httpx.Response] = []
        self.used_before = False
        self._answer = tab._answer
        tab._answer = self.answer  # type: ignore[method-assign]

    async def answer(self, call: dict[str, Any]) -> None:
        if call["name"] != "upload":
            await self._answer(call)
            return
        self.calls.append(call)
        picker = call["control_id"]
        await self.tab.send(
            INVOKE,
            {"control_id": picker, "call_id": call["call_id"], "result": None, "error": None},
        )
        for file in call["args"]["files"]:
            await self._event(picker, {"file_name": file["name"], "progress": 0.0})
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
                if self.used_before:
                    url, body = file["upload_url"], self.content
                    self.responses.append(await http.put(url, content=body))
                response = await http.request(
                    file["method"], file["upload_url"], content=self.content
                )
            self.responses.append(response)
            if 200 <= response.status_code <= 204:
                await self._event(picker, {"file_name": file["name"], "progress": 1.0})
            else:
                error = f"Upload endpoint returned code {response.status_code}: {response.text}"
                await self._event(picker, {"file_name": file["name"], "error": error})

    async def _event(self, picker: int, data: dict[str, Any]) -> None:
        await self.tab.send(EVENT, {"target": picker, "name": "upload", "data": data})


async def pick(tab: InProcessBrowser, name: str, size: int) -> None:
    """The user chose a file in the dialog the Import button's PickFiles action opened."""
    import_button = tab.find("OutlinedButton", text="Import")
    picker_id = import_button["action"]["service_id"]
    assert import_button["action"]["method"] == "pick_files"
    assert import_button["action"]["args"]["allowed_extensions"] == ["csv"]
    picker = tab.by_id(picker_id)
    assert picker is not None
    assert picker["_c"] == "FilePicker"
    files = [{"id": 0, "name": name, "size": size}]
    await tab.event(picker, "result", {"files": files})
    await tab.settle()


async def projects_tab(app: FastAPI, factory: Factory, tabs, role: str = "member"):
    tenant = await factory.tenant()
    actor = await factory.actor(tenant, role)
    await factory.project(tenant, key="WEB", name="Website")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, actor))
    return tenant, actor, tab


@pytest.mark.parametrize(("role", "offered"), [("viewer", False), ("member", True)])
async def test_export_and_import_are_offered_to_members_only(
    app: FastAPI, factory: Factory, tabs, role: str, offered: bool
):
    _, _, tab = await projects_tab(app, factory, tabs, role)

    assert bool(tab.find_all("OutlinedButton", text="Export")) is offered
    assert bool(tab.find_all("OutlinedButton", text="Import")) is offered
    pickers = [c for c in tab.controls(visible=False) if c["_c"] == "FilePicker"]
    assert bool(pickers) is offered


async def test_a_projects_view_left_behind_is_not_kept_alive_by_its_file_picker(
    app: FastAPI, factory: Factory, tabs
):
    tenant, _, tab = await projects_tab(app, factory, tabs)
    state = tab.flet_page.data
    first = weakref.ref(state.router.current)

    for _ in range(3):
        await tab.in_session(state.router.go(f"/t/{tenant.slug}/home"))
        await tab.in_session(state.router.go(f"/t/{tenant.slug}/projects"))
    gc.collect()

    assert first() is None
    pickers = [c for c in tab.controls(visible=False) if c["_c"] == "FilePicker"]
    assert len(pickers) == 1
    assert tab.find("OutlinedButton", text="Import")["action"]["service_id"] == pickers[0]["_i"]


async def test_export_exports_the_current_filter(app: FastAPI, factory: Factory, tabs, recorder):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects?q=web", cookies(app, member))

    await tab.click("Export")

    [doorbell] = recorder.sent
    job = await tab.flet_page.data.api.get_job(tenant.slug, str(doorbell.job_id))
    assert job["kind"] == "export"
    assert job["params"] == {"q": "web"}
    assert "Exporting projects matching “web”." in tab.snackbars()

    await snack_action(tab, "Exporting projects")
    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs/{doorbell.job_id}"
    assert tab.has_text("Export job")


async def test_export_without_a_filter_exports_everything(
    app: FastAPI, factory: Factory, tabs, recorder
):
    tenant, _, tab = await projects_tab(app, factory, tabs)

    await tab.click("Export")

    [doorbell] = recorder.sent
    job = await tab.flet_page.data.api.get_job(tenant.slug, str(doorbell.job_id))
    assert job["params"] == {}
    assert "Exporting all projects." in tab.snackbars()


async def test_import_uploads_the_file_then_opens_the_import_job(
    app: FastAPI, factory: Factory, tabs, recorder
):
    tenant, _, tab = await projects_tab(app, factory, tabs)
    uploads = BrowserUploads(tab, app, CSV)

    await pick(tab, "projects.csv", len(CSV))
    await tab.wait_for(lambda: "/jobs/" in tab.flet_page.route, what="the job page")

    [call] = uploads.calls
    [file] = call["args"]["files"]
    assert file["method"] == "PUT"
    assert file["id"] == 0
    assert file["upload_url"].startswith("/api/v1/uploads/")  # the browser adds its origin
    assert [r.status_code for r in uploads.responses] == [201]
    [doorbell] = recorder.sent
    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs/{doorbell.job_id}"
    job = await tab.flet_page.data.api.get_job(tenant.slug, str(doorbell.job_id))
    assert job["kind"] == "import"
    assert job["params"]["filename"] == "projects.csv"
    assert job["params"]["size"] == len(CSV)
    await tab.wait_for_text("Import job")
    assert tab.has_text("projects.csv")
    assert tab.crashes == []


async def test_upload_progress_is_shown(app: FastAPI, factory: Factory, tabs, recorder):
    _, _, tab = await projects_tab(app, factory, tabs)
    view = tab.flet_page.data.router.current
    view.upload = {"ticket": {"upload_id": str(uuid.uuid4())}, "name": "big.csv"}
    picker = tab.by_id(tab.find("OutlinedButton", text="Import")["action"]["service_id"])

    await tab.event(picker, "upload", {"file_name": "big.csv", "progress": 0.4})

    assert tab.has_text("Uploading big.csv… 40%")
    assert tab.find("Row", text="Uploading big.csv")


async def test_a_file_over_the_limit_is_refused_before_uploading(
    app: FastAPI, factory: Factory, tabs, recorder
):
    _, _, tab = await projects_tab(app, factory, tabs)
    uploads = BrowserUploads(tab, app, CSV)
    limit = app.state.settings.upload_max_bytes

    await pick(tab, "huge.csv", limit + 1)

    [error] = tab.snackbars()
    assert error.startswith("“huge.csv” is ")
    assert "files up to 20.0 MiB can be imported" in error
    assert uploads.calls == []
    assert recorder.sent == []


async def test_a_file_that_is_not_csv_is_refused(app: FastAPI, factory: Factory, tabs, recorder):
    _, _, tab = await projects_tab(app, factory, tabs)
    uploads = BrowserUploads(tab, app, CSV)

    await pick(tab, "projects.xlsx", 100)
    await pick(tab, "empty.csv", 0)

    assert tab.snackbars()[-1] == "“empty.csv” is empty; there is nothing to import."
    assert uploads.calls == []


async def test_a_failed_upload_says_why_and_starts_nothing(
    app: FastAPI, factory: Factory, tabs, recorder
):
    _, _, tab = await projects_tab(app, factory, tabs)
    uploads = BrowserUploads(tab, app, CSV)
    uploads.used_before = True  # someone replayed the single-use URL first: the PUT gets 409

    await pick(tab, "projects.csv", len(CSV))

    assert [r.status_code for r in uploads.responses] == [201, 409]
    [error] = tab.snackbars()
    assert error == "Uploading “projects.csv” failed: this upload was already used."
    assert recorder.sent == []
    assert tab.flet_page.route.endswith("/projects")
    assert not tab.find_all("Row", text="Uploading")


async def test_cancelling_the_file_dialog_does_nothing(
    app: FastAPI, factory: Factory, tabs, recorder
):
    _, _, tab = await projects_tab(app, factory, tabs)
    picker = tab.by_id(tab.find("OutlinedButton", text="Import")["action"]["service_id"])

    await tab.event(picker, "result", {"files": []})

    assert tab.snackbars() == []
    assert recorder.sent == []
