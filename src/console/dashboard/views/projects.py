"""A tenant's projects: search, status filter and sort (all in the route, so links and
back/forward work), open a project's page, and (members) create, export (the current filter)
and import a CSV (FilePicker → signed upload URL → import job)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.notify import problem_text, safe, snack
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


def list_route(slug: str, *, q: str = "", status: str | None = None, sort: str = "") -> str:
    """The projects list with these filters (defaults left out, so plain links stay plain)."""
    query = {
        k: v
        for k, v in (("q", q), ("status", status), ("sort", sort))
        if v and not (k == "sort" and v == DEFAULT_SORT)
    }
    return f"/t/{slug}/projects" + (f"?{urlencode(query)}" if query else "")


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
        self.more = ft.TextButton(
            "Load more", tooltip="Show the next projects", on_click=self._more, visible=False
        )
        self.empty = ft.Text("No projects yet.", visible=False)
        self.next_cursor: str | None = None
        self.dialog: ft.AlertDialog | None = None
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
            self.more,
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
            self.picker = ft.FilePicker(on_result=self._picked, on_upload=self._uploading)
            self.import_button.action = ft.PickFiles(
                self.picker,
                dialog_title="Import projects from a CSV file",
                file_type=ft.FilePickerFileType.CUSTOM,
                allowed_extensions=["csv"],
            )
        await self._load(reset=True)

    async def on_leave(self) -> None:
        """The view's dialog goes with it (a sign-out elsewhere must not leave it on top of the
        sign-in screen)."""
        self._close_dialog()
        await super().on_leave()

    async def _load(self, *, reset: bool) -> None:
        params: dict[str, Any] = {"limit": 50, "sort": self.sort}
        if self.search.value:
            params["q"] = self.search.value
        if self.status_filter:
            params["status"] = self.status_filter
        if not reset and self.next_cursor:
            params["cursor"] = self.next_cursor
        self.progress.visible = True
        self.page.update()
        try:
            page = await self.state.api.get(f"/api/v1/tenants/{self.slug}/projects", params=params)
        finally:
            self.progress.visible = False
        rows = [self._row(p) for p in page["items"]]
        self.table.rows = rows if reset else [*self.table.rows, *rows]
        self.next_cursor = page["next_cursor"]
        self.more.visible = self.next_cursor is not None
        total = f"{page['total']}{'' if page['total_exact'] else '+'}"
        self.summary.value = f"{total} project{'s' if page['total'] != 1 else ''}"
        self.summary.visible = bool(self.table.rows)
        if self.search.value:
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
                ft.DataCell(ft.Text(p["status"])),
                ft.DataCell(ft.Text(p["updated_at"][:16].replace("T", " "))),
                ft.DataCell(
                    ft.IconButton(ft.Icons.OPEN_IN_NEW, tooltip=f"Open {label}", on_click=opener)
                ),
            ]
        )

    def _project_opener(self, project_id: str) -> Callable[[Any], Awaitable[None]]:
        @safe
        async def open_project(_: Any) -> None:
            await self.state.router.go(f"/t/{self.slug}/projects/{project_id}")

        return open_project

    def _route(self) -> str:
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
    async def _more(self, _: ft.ControlEvent) -> None:
        await self._load(reset=False)

    @safe
    async def _open_create(self, _: ft.ControlEvent) -> None:
        key = ft.TextField(label="Key", hint_text="WEB", autofocus=True, max_length=32)
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
                fields = {e["loc"][-1]: e["msg"] for e in exc.problem.get("errors", [])}
                if exc.problem.get("field"):
                    fields[exc.problem["field"]] = exc.message
                key.error = fields.get("key")
                name.error = fields.get("name")
                if not fields:
                    snack(self.page, problem_text(exc), error=True)
                self.page.update()
                return
            self._close_dialog()
            snack(self.page, f"Created {created['key']}.")
            await self._load(reset=True)

        self.dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text("New project"),
            content=ft.Column([key, name, description], tight=True, width=420),
            actions=[
                ft.TextButton(
                    "Cancel",
                    tooltip="Close without creating",
                    on_click=lambda _: self._close_dialog(),
                ),
                ft.FilledButton("Create", tooltip="Create the project", on_click=save),
            ],
        )
        self.page.show_dialog(self.dialog)

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

    def _close_dialog(self) -> None:
        """Close this view's dialog — not `page.pop_dialog()`, which closes the topmost open
        dialog, and a snackbar shown over the dialog (an error) is one."""
        if self.dialog is not None and self.dialog.open:
            self.dialog.open = False
            self.dialog.update()


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


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
