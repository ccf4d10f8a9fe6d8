"""One project: key, name, description, status, who created it and when, its version; members
edit (If-Match with the version they loaded), archive and restore it, admins delete it. When
someone saved first (409) the screen says so and offers to reload — without losing the text
the user typed."""

from __future__ import annotations

from typing import Any

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.controls.dialogs import confirm_button, modal
from console.dashboard.notify import field_errors, problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant, page_body
from console.dashboard.views.projects import ROLE_RANK, STATUSES

NAME_MAX = 200
DESCRIPTION_MAX = 10_000


def project_path(slug: str, project_id: str) -> str:
    return f"/api/v1/tenants/{slug}/projects/{project_id}"


def if_match(project: dict[str, Any]) -> dict[str, str]:
    """The version the user is acting on, as the API's ETag."""
    return {"If-Match": f'"{project["version"]}"'}


def stamp(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "—"


def title_of(project: dict[str, Any]) -> str:
    return f"{project['key']} — {project['name']}"


def draft_controls(draft: dict[str, str]) -> list[ft.Control]:
    """The user's unsaved text as plain text (screen readers read it) and a button that copies
    it, so nothing typed is lost to a conflict."""
    description = draft["description"] or "(empty)"
    return [
        ft.Text(f"Your name: {draft['name']}"),
        ft.Text(f"Your description: {description}"),
        ft.OutlinedButton(
            "Copy your text",
            icon=ft.Icons.COPY,
            tooltip="Copy your unsaved name and description to the clipboard",
            # Written by the client inside the click: browsers refuse later clipboard writes.
            action=ft.CopyToClipboard(f"{draft['name']}\n\n{draft['description']}"),
        ),
    ]


class ProjectDetailView(BaseView):
    title = "Project"
    section = "projects"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.project_id = self.params["project_id"]
        self.project: dict[str, Any] | None = None
        self.role = "viewer"
        self.creator = "—"
        self.loading = ft.ProgressBar(visible=True)
        self.heading = ft.Text("Project", size=24, weight=ft.FontWeight.BOLD)
        self.status_text = ft.Text("")
        self.details = ft.Column(spacing=8)
        self.missing = ft.Text("", visible=False)
        self.edit_button = ft.FilledButton(
            "Edit",
            icon=ft.Icons.EDIT,
            tooltip="Edit the name and description",
            on_click=self._open_edit,
            visible=False,
        )
        self.archive_button = ft.OutlinedButton(
            "Archive",
            icon=ft.Icons.ARCHIVE,
            tooltip="Archive this project (it can be restored)",
            on_click=self._archive_or_restore,
            visible=False,
        )
        self.delete_button = ft.OutlinedButton(
            "Delete",
            icon=ft.Icons.DELETE_FOREVER,
            tooltip="Delete this project for good",
            on_click=self._confirm_delete,
            visible=False,
            style=ft.ButtonStyle(color=ft.Colors.ERROR),
        )
        self.back_button = ft.TextButton(
            "All projects",
            icon=ft.Icons.ARROW_BACK,
            tooltip="Back to the list of projects",
            on_click=self._back,
        )
        return page_body(
            self.loading,
            self.back_button,
            ft.Row(
                [
                    ft.Row([self.heading, self.status_text], spacing=12, tight=True),
                    ft.Row(
                        [self.edit_button, self.archive_button, self.delete_button],
                        spacing=8,
                        tight=True,
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                wrap=True,
            ),
            self.missing,
            self.details,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @safe
    async def on_enter(self) -> None:
        tenant = await enter_tenant(self, self.slug, self.loading)
        if tenant is None:
            return
        self.role = tenant["role"]
        await self._load()

    @property
    def can_edit(self) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK["member"]

    @property
    def can_delete(self) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK["admin"]

    async def _fetch(self) -> dict[str, Any] | None:
        """The project as it is now (None when it is gone)."""
        try:
            return await self.state.api.get(project_path(self.slug, self.project_id))
        except ApiError as exc:
            if exc.status in (404, 422):
                return None
            raise

    async def _creator(self, project: dict[str, Any]) -> str:
        creator = project.get("created_by_id")
        if not creator:
            return "—"
        try:
            members = await self.state.api.list_members(self.slug)
        except ApiError:
            return "—"
        for m in members:
            if str(m["user_id"]) == str(creator):
                return f"{m['name']} ({m['email']})" if m.get("name") else m["email"]
        return "a former member"

    async def _load(self) -> None:
        self.loading.visible = True
        self.page.update()
        try:
            project = await self._fetch()
            creator = await self._creator(project) if project else "—"
        finally:
            self.loading.visible = False
        self._show(project, creator)

    def _show(self, project: dict[str, Any] | None, creator: str | None = None) -> None:
        self.project = project
        if project is None:
            self.heading.value = "Project not found"
            self.missing.value = "This project does not exist or was deleted."
            self.missing.visible = True
            self.details.controls = []
            self.status_text.value = ""
            for b in (self.edit_button, self.archive_button, self.delete_button):
                b.visible = False
            self.page.update()
            return
        self.page.title = f"{project['key']} · Console"
        self.missing.visible = False
        self.heading.value = title_of(project)
        archived = project["status"] == "archived"
        self.status_text.value = STATUSES.get(project["status"], project["status"])
        if creator is not None:
            self.creator = creator
        rows = [
            ("Key", project["key"]),
            ("Name", project["name"]),
            ("Description", project["description"] or "—"),
            ("Status", STATUSES.get(project["status"], project["status"])),
            ("Created by", self.creator),
            ("Created", stamp(project["created_at"])),
            ("Updated", stamp(project["updated_at"])),
            ("Version", str(project["version"])),
        ]
        self.details.controls = [
            ft.Row(
                [
                    ft.Text(label, width=120, weight=ft.FontWeight.BOLD),
                    ft.Text(value, expand=True),
                ],
                vertical_alignment=ft.CrossAxisAlignment.START,
            )
            for label, value in rows
        ]
        self.edit_button.visible = self.can_edit
        self.archive_button.visible = self.can_edit
        self.archive_button.content = "Restore" if archived else "Archive"
        self.archive_button.icon = ft.Icons.UNARCHIVE if archived else ft.Icons.ARCHIVE
        self.archive_button.tooltip = (
            "Restore this project (make it active again)"
            if archived
            else "Archive this project (it can be restored)"
        )
        self.delete_button.visible = self.can_delete
        self.page.update()

    @safe
    async def _back(self, _: ft.ControlEvent) -> None:
        await self.state.router.go(f"/t/{self.slug}/projects")

    # -- editing -------------------------------------------------------------------------------

    @safe
    async def _open_edit(self, _: ft.ControlEvent) -> None:
        if self.project is not None:
            self._edit(self.project)

    def _edit(self, project: dict[str, Any], draft: dict[str, str] | None = None) -> None:
        """The editor for `project` as loaded; `draft`: what the user typed before a conflict,
        shown read-only to copy from."""
        name = ft.TextField(
            label="Name", value=project["name"], autofocus=True, max_length=NAME_MAX
        )
        description = ft.TextField(
            label="Description",
            value=project["description"],
            multiline=True,
            min_lines=2,
            max_lines=8,
            max_length=DESCRIPTION_MAX,
        )
        content: list[ft.Control] = [
            ft.Text(f"Editing version {project['version']} of {project['key']}."),
            name,
            description,
        ]
        if draft is not None:
            content += [
                ft.Divider(),
                ft.Text(
                    "Your unsaved text (copy what you want to keep):",
                    weight=ft.FontWeight.BOLD,
                ),
                *draft_controls(draft),
            ]

        @safe
        async def save(_: ft.ControlEvent) -> None:
            new_name = (name.value or "").strip()
            new_description = description.value or ""
            name.error = None
            description.error = None
            if not new_name:
                name.error = "Enter a name."
            elif len(new_name) > NAME_MAX:
                name.error = f"At most {NAME_MAX} characters."
            if len(new_description) > DESCRIPTION_MAX:
                description.error = f"At most {DESCRIPTION_MAX} characters."
            if name.error or description.error:
                self.page.update()
                return
            try:
                saved = await self.state.api.patch(
                    project_path(self.slug, self.project_id),
                    json={"name": new_name, "description": new_description},
                    headers=if_match(project),
                )
            except ApiError as exc:
                if exc.status == 409:
                    self.close_dialog()
                    self._conflict(
                        exc,
                        project,
                        draft={"name": new_name, "description": new_description},
                    )
                    return
                fields = field_errors(exc)
                name.error = fields.get("name")
                description.error = fields.get("description")
                if not fields:
                    snack(self.page, problem_text(exc), error=True)
                self.page.update()
                return
            self.close_dialog()
            self._show(saved)
            snack(self.page, f"Saved {saved['key']} (version {saved['version']}).")

        self.open_dialog(
            modal(
                f"Edit {project['key']}",
                content,
                confirm=confirm_button("Save", save, tooltip="Save your changes"),
                on_cancel=lambda _: self.close_dialog(),
                cancel_tooltip="Close without saving",
                width=480,
                scrollable=True,
            )
        )

    def _conflict(
        self, exc: ApiError, mine: dict[str, Any], draft: dict[str, str] | None = None
    ) -> None:
        """Someone saved first: say so, keep the user's text visible, and offer to reload."""
        theirs = exc.problem.get("current_version")
        lines = [
            ft.Text(
                f"You were working on version {mine['version']}; "
                + (
                    f"someone has since saved version {theirs}."
                    if theirs
                    else "someone has since saved a newer version."
                )
            ),
            ft.Text(
                "Reload to see their changes"
                + (", then apply yours again." if draft is not None else " and try again.")
            ),
        ]
        if draft is not None:
            lines += [
                *draft_controls(draft),
            ]

        @safe
        async def reload(_: ft.ControlEvent) -> None:
            self.close_dialog()
            await self._load()
            if draft is not None and self.project is not None:
                self._edit(self.project, draft)

        self.open_dialog(
            modal(
                "Someone saved this project first",
                lines,
                confirm=ft.FilledButton(
                    "Reload",
                    icon=ft.Icons.REFRESH,
                    tooltip="Load the current version",
                    on_click=reload,
                ),
                on_cancel=lambda _: self.close_dialog(),
                cancel_tooltip="Close; nothing was saved",
                width=480,
                scrollable=True,
            )
        )

    # -- archive, restore, delete --------------------------------------------------------------

    @safe
    async def _archive_or_restore(self, _: ft.ControlEvent) -> None:
        project = self.project
        if project is None:
            return
        action = "restore" if project["status"] == "archived" else "archive"
        try:
            saved = await self.state.api.post(
                f"{project_path(self.slug, self.project_id)}/{action}", headers=if_match(project)
            )
        except ApiError as exc:
            if exc.status == 409:
                self._conflict(exc, project)
                return
            raise
        self._show(saved)
        done = "Restored" if action == "restore" else "Archived"
        snack(self.page, f"{done} {title_of(saved)}.")

    @safe
    async def _confirm_delete(self, _: ft.ControlEvent) -> None:
        project = self.project
        if project is None:
            return

        async def delete() -> None:
            try:
                await self.state.api.delete(
                    project_path(self.slug, self.project_id), headers=if_match(project)
                )
            except ApiError as exc:
                if exc.status == 409:
                    self._conflict(exc, project)
                    return
                raise
            await self.state.router.go(f"/t/{self.slug}/projects")
            snack(self.page, f"Deleted {title_of(project)}.")

        self.confirm(
            f"Delete {title_of(project)}?",
            "The project is deleted for good; this cannot be undone. "
            "Archive it instead to keep it.",
            "Delete",
            delete,
            destructive=True,
            tooltip=f"Delete {project['key']} for good",
            cancel_tooltip="Keep the project",
        )
