"""A tenant's projects: search, status filter, sort and page (all in the route, so links and
back/forward work), open a project's page, and (members) create, export (the current filter)
and import a CSV (FilePicker → signed upload URL → import job)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.controls.dialogs import confirm_button, modal
from console.dashboard.controls.pager import Pager
from console.dashboard.notify import field_errors, problem_text, safe, snack
from console.dashboard.state import SessionState
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant, page_body

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2}
STATUSES = {"active": "Active", "archived": "Archived"}
SORTS = {
    "name": "Name (A to Z)",
    "-name": "Name (Z to A)",
    "key": "Key (A to Z)",
    "-key": "Key (Z to A)",
    "created_at": "Created (oldest first)",
    "-created_at": "Created (newest first)",
    "updated_at": "Updated (oldest first)",
    "-updated_at": "Updated (newest first)",
}
DEFAULT_SORT = "name"
# Each row is a dozen controls the session holds in memory and diffs on every change.
PAGE_SIZE = 25


def list_route(slug: str, *, q: str = "", status: str | None = None, sort: str = "") -> str:
    """The projects list with these filters (defaults left out, so plain links stay plain)."""
    query = {
        k: v
        for k, v in (("q", q), ("status", status), ("sort", sort))
        if v and not (k == "sort" and v == DEFAULT_SORT)
    }
    return f"/t/{slug}/projects" + (f"?{urlencode(query)}" if query else "")


def version_of(project: dict[str, Any]) -> tuple[str, int]:
    return str(project["id"]), int(project["version"])


class ProjectsView(BaseView):
    title = "Projects"
    section = "projects"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        status, sort = self.query.get("status"), self.query.get("sort")
        self.status_filter = status if status in STATUSES else None
        self.sort = sort if sort in SORTS else DEFAULT_SORT
        self.search = ft.TextField(
            label="Search projects",
            tooltip="Search in project keys and names; press Enter",
            value=self.query.get("q", ""),
            prefix_icon=ft.Icons.SEARCH,
            on_submit=self._search,
            width=320,
            dense=True,
        )
        self.status_dropdown = ft.Dropdown(
            label="Status",
            tooltip="Show active, archived or all projects",
            value=self.status_filter or "all",
            options=[ft.DropdownOption(key="all", text="All statuses")]
            + [ft.DropdownOption(key=k, text=text) for k, text in STATUSES.items()],
            on_select=self._filter,
            width=180,
            dense=True,
        )
        self.sort_dropdown = ft.Dropdown(
            label="Sort by",
            tooltip="Order of the projects",
            value=self.sort,
            options=[ft.DropdownOption(key=k, text=text) for k, text in SORTS.items()],
            on_select=self._filter,
            width=240,
            dense=True,
        )
        self.create_button = ft.FilledButton(
            "New project",
            icon=ft.Icons.ADD,
            tooltip="Create a project",
            on_click=self._open_create,
            visible=False,
        )
        self.export_button = ft.OutlinedButton(
            "Export",
            icon=ft.Icons.FILE_DOWNLOAD,
            tooltip="Export the listed projects as CSV",
            on_click=self._export,
            visible=False,
        )
        # Import opens the file dialog on the client, inside the click (ft.PickFiles, set once
        # the picker exists): browsers refuse a picker opened after a server round trip.
        self.import_button = ft.OutlinedButton(
            "Import",
            icon=ft.Icons.FILE_UPLOAD,
            tooltip="Import projects from a CSV file",
            visible=False,
        )
        self.picker: ft.FilePicker | None = None
        self.upload: dict[str, Any] | None = None  # the upload in flight: ticket + file name
        self.upload_bar = ft.ProgressBar(value=0, width=240)
        self.upload_text = ft.Text("")
        self.upload_panel = ft.Row(
            [ft.Icon(ft.Icons.FILE_UPLOAD), self.upload_text, self.upload_bar],
            visible=False,
            spacing=12,
        )
        self.summary = ft.Text("")
        self.progress = ft.ProgressBar(visible=True)
        self.table = ft.DataTable(
            columns=[ft.DataColumn(ft.Text(h)) for h in ("Key", "Name", "Status", "Updated", "")],
            rows=[],
        )
        self.pager = Pager(
            self.state.page_trail,
            self.route,
            self.query,
            self.state.router.go,
            noun="projects",
            page_size=PAGE_SIZE,
        )
        self.empty = ft.Text("No projects yet.", visible=False)
        self.rows_by_version: dict[tuple[str, int], ft.DataRow] = {}
        return page_body(
            self.progress,
            ft.Row(
                [
                    ft.Row(
                        [self.search, self.status_dropdown, self.sort_dropdown],
                        spacing=12,
                        tight=True,
                        wrap=True,
                    ),
                    ft.Row(
                        [self.export_button, self.import_button, self.create_button],
                        spacing=8,
                        tight=True,  # its width, not a whole line
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                wrap=True,
            ),
            self.upload_panel,
            self.summary,
            self.table,
            self.empty,
            self.pager.control,
        )

    @safe
    async def on_enter(self) -> None:
        state = self.state
        if await enter_tenant(self, self.slug, self.progress) is None:
            return
        member = ROLE_RANK[state.tenant["role"]] >= ROLE_RANK["member"]
        self.create_button.visible = member
        self.export_button.visible = member
        self.import_button.visible = member
        if member and self.picker is None:
            self.picker = session_file_picker(self.state)
            self.import_button.action = ft.PickFiles(
                self.picker,
                dialog_title="Import projects from a CSV file",
                file_type=ft.FilePickerFileType.CUSTOM,
                allowed_extensions=["csv"],
            )
        await self._load()

    async def reload(self) -> None:
        await self._load()

    async def _load(self) -> None:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "sort": self.sort}
        if self.search.value:
            params["q"] = self.search.value
        if self.status_filter:
            params["status"] = self.status_filter
        if self.pager.cursor:
            params["cursor"] = self.pager.cursor
        if not self.progress.visible:
            self.progress.visible = True
            self.progress.update()
        try:
            page = await self.state.api.get(f"/api/v1/tenants/{self.slug}/projects", params=params)
        finally:
            self.progress.visible = False
        # Rows of unchanged projects are kept: a reload then sends only what changed.
        known = self.rows_by_version
        self.rows_by_version = {
            version_of(p): known.get(version_of(p)) or self._row(p) for p in page["items"]
        }
        self.table.rows = list(self.rows_by_version.values())
        self.pager.show(len(page["items"]), page["next_cursor"], page["total"], page["total_exact"])
        total = f"{page['total']}{'' if page['total_exact'] else '+'}"
        self.summary.value = f"{total} project{'s' if page['total'] != 1 else ''}"
        self.summary.visible = bool(self.table.rows)
        if self.pager.cursor and not self.table.rows:
            self.empty.value = "This page is empty now; go to the first page."
        elif self.search.value:
            self.empty.value = f"No projects match “{self.search.value}”."
        elif self.status_filter:
            self.empty.value = f"No {self.status_filter} projects."
        else:
            self.empty.value = "No projects yet."
        self.empty.visible = not self.table.rows
        self.page.update()

    def _row(self, p: dict[str, Any]) -> ft.DataRow:
        opener = self._project_opener(str(p["id"]))
        label = f"{p['key']} — {p['name']}"
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(p["key"], weight=ft.FontWeight.BOLD), on_tap=opener),
                ft.DataCell(ft.Text(p["name"]), on_tap=opener),
                ft.DataCell(ft.Text(STATUSES.get(p["status"], p["status"]))),
                ft.DataCell(ft.Text(p["updated_at"][:16].replace("T", " "))),
                ft.DataCell(
                    ft.TextButton(
                        "Open", icon=ft.Icons.OPEN_IN_NEW, tooltip=f"Open {label}", on_click=opener
                    )
                ),
            ]
        )

    def _project_opener(self, project_id: str) -> Callable[[Any], Awaitable[None]]:
        @safe
        async def open_project(_: Any) -> None:
            await self.state.router.go(f"/t/{self.slug}/projects/{project_id}")

        return open_project

    def _route(self) -> str:
        """The route for the filters as chosen on screen (a new filter starts at page 1)."""
        status = self.status_dropdown.value
        return list_route(
            self.slug,
            q=(self.search.value or "").strip(),
            status=status if status in STATUSES else None,
            sort=self.sort_dropdown.value or DEFAULT_SORT,
        )

    @safe
    async def _search(self, _: ft.ControlEvent) -> None:
        await self.state.router.go(self._route())

    @safe
    async def _filter(self, _: ft.ControlEvent) -> None:
        await self.state.router.go(self._route())

    @safe
    async def _open_create(self, _: ft.ControlEvent) -> None:
        key = ft.TextField(
            label="Key", hint_text="WEB", autofocus=True, max_length=32, error_max_lines=3
        )
        name = ft.TextField(label="Name", max_length=200)
        description = ft.TextField(label="Description", multiline=True, min_lines=2)

        @safe
        async def save(_: ft.ControlEvent) -> None:
            try:
                created = await self.state.api.post(
                    f"/api/v1/tenants/{self.slug}/projects",
                    json={
                        "key": key.value or "",
                        "name": name.value or "",
                        "description": description.value or "",
                    },
                )
            except ApiError as exc:
                fields = field_errors(exc)
                key.error = fields.get("key")
                name.error = fields.get("name")
                if not fields:
                    snack(self.page, problem_text(exc), error=True)
                self.page.update()
                return
            self.close_dialog()
            snack(self.page, f"Created {created['key']}.")
            await self._load()

        self.open_dialog(
            modal(
                "New project",
                [key, name, description],
                confirm=confirm_button("Create", save, tooltip="Create the project"),
                on_cancel=lambda _: self.close_dialog(),
                cancel_tooltip="Close without creating",
            )
        )

    # -- export and import ---------------------------------------------------------------------

    @safe
    async def _export(self, _: ft.ControlEvent) -> None:
        q = (self.search.value or "").strip() or None
        job = await self.state.api.create_export(self.slug, q=q, status=self.status_filter)
        kind = f"{self.status_filter} projects" if self.status_filter else "projects"
        what = f"{kind} matching “{q}”" if q else (kind if self.status_filter else "all projects")
        snack(
            self.page,
            f"Exporting {what}.",
            action="View job",
            on_action=self._job_opener(str(job["id"])),
        )

    def _job_opener(self, job_id: str) -> Callable[[Any], Awaitable[None]]:
        @safe
        async def open_job(_: Any) -> None:
            await self.state.router.go(f"/t/{self.slug}/jobs/{job_id}")

        return open_job

    @safe
    async def _picked(self, e: ft.FilePickerResultEvent) -> None:
        """A file was chosen: check it, get a signed upload URL, and let the browser PUT it."""
        if not e.files or self.picker is None:
            return  # the dialog was cancelled
        file = e.files[0]
        if not file.name.lower().endswith(".csv"):
            snack(self.page, f"“{file.name}” is not a CSV file; choose a .csv file.", error=True)
            return
        if file.size <= 0:
            snack(self.page, f"“{file.name}” is empty; there is nothing to import.", error=True)
            return
        try:
            ticket = await self.state.api.create_upload(
                self.slug, filename=file.name, size=file.size
            )
        except ApiError as exc:
            if exc.status != 413:
                raise
            limit = exc.problem.get("max_bytes") or self.state.settings.upload_max_bytes
            snack(self.page, too_large(file.name, file.size, int(limit)), error=True)
            return
        if file.size > int(ticket["max_bytes"]):
            snack(self.page, too_large(file.name, file.size, int(ticket["max_bytes"])), error=True)
            return
        self.upload = {"ticket": ticket, "name": file.name}
        self._show_upload(f"Uploading {file.name}…", 0.0)
        await self.picker.upload(
            [
                ft.FilePickerUploadFile(
                    upload_url=ticket["upload_url"], method="PUT", id=file.id, name=file.name
                )
            ]
        )

    @safe
    async def _uploading(self, e: ft.FilePickerUploadEvent) -> None:
        """The browser reports the PUT's progress; when it is complete, start the import."""
        upload = self.upload
        if upload is None or e.file_name != upload["name"]:
            return
        if e.error:
            self.upload = None
            self._hide_upload()
            snack(self.page, upload_failed(upload["name"], e.error), error=True)
            return
        progress = e.progress or 0.0
        if progress < 1.0:
            self._show_upload(f"Uploading {upload['name']}… {progress:.0%}", progress)
            return
        self.upload = None
        self._show_upload(f"Uploaded {upload['name']}; starting the import…", 1.0)
        try:
            job = await self.state.api.create_import(self.slug, str(upload["ticket"]["upload_id"]))
        finally:
            self._hide_upload()
        snack(self.page, f"Importing {upload['name']}.")
        await self.state.router.go(f"/t/{self.slug}/jobs/{job['id']}")

    def _show_upload(self, text: str, progress: float) -> None:
        self.upload_text.value = text
        self.upload_bar.value = progress
        self.upload_panel.visible = True
        self.page.update()

    def _hide_upload(self) -> None:
        self.upload_panel.visible = False
        self.page.update()


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def session_file_picker(state: SessionState) -> ft.FilePicker:
    """The session's FilePicker; its results and upload progress go to the view on screen
    (the projects view's `_picked` / `_uploading`), so it keeps no view alive."""
    if state.file_picker is None:

        async def result(e: ft.FilePickerResultEvent) -> None:
            handler = getattr(state.router.current, "_picked", None)
            if handler is not None:
                await handler(e)

        async def upload(e: ft.FilePickerUploadEvent) -> None:
            handler = getattr(state.router.current, "_uploading", None)
            if handler is not None:
                await handler(e)

        state.file_picker = ft.FilePicker(on_result=result, on_upload=upload)
    return state.file_picker


def too_large(name: str, size: int, limit: int) -> str:
    return (
        f"“{name}” is {_size(size)}; files up to {_size(limit)} can be imported. "
        "Split it into smaller files."
    )


def upload_failed(name: str, error: str) -> str:
    """The browser's upload error (e.g. "Upload endpoint returned code 410: {...}") in words."""
    reasons = {
        "403": "the upload link was not accepted",
        "409": "this upload was already used",
        "410": "the upload link expired; try again",
        "413": "the file is larger than allowed",
    }
    code = next((c for c in reasons if f"code {c}" in error), None)
    reason = reasons[code] if code else "the connection failed; try again"
    return f"Uploading “{name}” failed: {reason}."
