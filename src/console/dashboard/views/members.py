"""A tenant's members and pending invitations; admins invite, change roles, remove members
(never the last admin: the API refuses and says why) and sign members out everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.controls.dialogs import confirm_button, modal
from console.dashboard.notify import field_errors, problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant, page_body
from console.dashboard.views.projects import ROLE_RANK

ROLES = ("viewer", "member", "admin")
ROLE_LABELS = {"viewer": "Viewer", "member": "Member", "admin": "Admin"}


def day(value: str | None) -> str:
    """An API timestamp as a date ("—" when absent)."""
    return value[:10] if value else "—"


def who(member: dict[str, Any]) -> str:
    return f"{member['name']} ({member['email']})" if member.get("name") else member["email"]


class MembersView(BaseView):
    title = "Members"
    section = "members"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.is_admin = False
        self.progress = ft.ProgressBar(visible=True)
        self.invite_button = ft.FilledButton(
            "Invite",
            icon=ft.Icons.PERSON_ADD,
            tooltip="Invite someone by email",
            on_click=self._open_invite,
            visible=False,
        )
        self.summary = ft.Text("")
        self.read_only = ft.Text(
            "Only admins can invite, change roles or remove members.",
            italic=True,
            visible=False,
        )
        self.table = ft.DataTable(columns=self._member_columns(), rows=[])
        self.empty = ft.Text("No members yet.", visible=False)
        self.invitations_title = ft.Text(
            "Pending invitations", theme_style=ft.TextThemeStyle.TITLE_MEDIUM, visible=False
        )
        self.invitations = ft.DataTable(
            columns=[
                ft.DataColumn(ft.Text(h)) for h in ("Email", "Role", "Invited", "Expires", "")
            ],
            rows=[],
            visible=False,
        )
        self.no_invitations = ft.Text("No pending invitations.", visible=False)
        self.members: dict[str, dict[str, Any]] = {}
        return page_body(
            self.progress,
            ft.Row(
                [self.summary, self.invite_button],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                wrap=True,
            ),
            self.read_only,
            self.table,
            self.empty,
            self.invitations_title,
            self.invitations,
            self.no_invitations,
        )

    def _member_columns(self) -> list[ft.DataColumn]:
        headings = ["Name", "Email", "Role", "Joined"]
        if self.is_admin:
            headings.append("Actions")
        return [ft.DataColumn(ft.Text(h)) for h in headings]

    @safe
    async def on_enter(self) -> None:
        state = self.state
        if await enter_tenant(self, self.slug, self.progress) is None:
            return
        self.is_admin = ROLE_RANK[state.tenant["role"]] >= ROLE_RANK["admin"]
        self.invite_button.visible = self.is_admin
        self.read_only.visible = not self.is_admin
        self.table.columns = self._member_columns()
        await self._load()

    # -- loading -------------------------------------------------------------------------------

    async def _load(self) -> None:
        self.progress.visible = True
        self.page.update()
        api = self.state.api
        try:
            members = await api.list_members(self.slug)
            invitations = await api.list_invitations(self.slug) if self.is_admin else []
        finally:
            self.progress.visible = False
        self.members = {str(m["user_id"]): m for m in members}
        self.table.rows = [self._member_row(m) for m in members]
        self.summary.value = f"{len(members)} member{'s' if len(members) != 1 else ''}"
        self.empty.visible = not members
        pending = [i for i in invitations if i["status"] == "pending"]
        self.invitations.rows = [self._invitation_row(i) for i in pending]
        self.invitations_title.visible = self.is_admin
        self.invitations.visible = bool(pending)
        self.no_invitations.visible = self.is_admin and not pending
        self.page.update()

    def _member_row(self, m: dict[str, Any]) -> ft.DataRow:
        role: ft.Control = ft.Text(ROLE_LABELS.get(m["role"], m["role"]))
        cells = [
            ft.DataCell(ft.Text(m["name"] or "—", weight=ft.FontWeight.BOLD)),
            ft.DataCell(ft.Text(m["email"])),
            ft.DataCell(role),
            ft.DataCell(ft.Text(day(m["joined_at"]))),
        ]
        if self.is_admin:
            user_id = str(m["user_id"])
            dropdown = ft.Dropdown(
                value=m["role"],
                options=[ft.DropdownOption(key=r, text=ROLE_LABELS[r]) for r in ROLES],
                tooltip=f"Role of {who(m)}",
                label=f"Role of {m['email']}",
                dense=True,
                width=200,
            )
            dropdown.on_select = self._role_selected(user_id, dropdown)
            cells[2] = ft.DataCell(dropdown)
            cells.append(
                ft.DataCell(
                    ft.Row(
                        [
                            ft.IconButton(
                                ft.Icons.LOGOUT,
                                tooltip=f"Sign {m['email']} out everywhere",
                                on_click=self._confirm_revoke_sessions(user_id),
                            ),
                            ft.IconButton(
                                ft.Icons.PERSON_REMOVE,
                                tooltip=f"Remove {m['email']}",
                                on_click=self._confirm_remove(user_id),
                            ),
                        ],
                        spacing=0,
                        tight=True,
                    )
                )
            )
        return ft.DataRow(cells=cells)

    def _invitation_row(self, i: dict[str, Any]) -> ft.DataRow:
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(i["email"])),
                ft.DataCell(ft.Text(ROLE_LABELS.get(i["role"], i["role"]))),
                ft.DataCell(ft.Text(day(i["created_at"]))),
                ft.DataCell(ft.Text(day(i["expires_at"]))),
                ft.DataCell(
                    ft.IconButton(
                        ft.Icons.CANCEL_SCHEDULE_SEND,
                        tooltip=f"Revoke the invitation for {i['email']}",
                        on_click=self._confirm_revoke_invitation(i),
                    )
                ),
            ]
        )

    def _is_me(self, user_id: str) -> bool:
        return str((self.state.user or {}).get("id")) == user_id

    # -- confirmations -------------------------------------------------------------------------

    def _role_selected(self, user_id: str, dropdown: ft.Dropdown) -> Callable[[Any], Any]:
        @safe
        async def selected(e: ft.ControlEvent) -> None:
            member = self.members[user_id]
            new = dropdown.value or (e.data if isinstance(e.data, str) else None)
            old = member["role"]
            if not new or new == old:
                return

            async def change() -> None:
                try:
                    updated = await self.state.api.change_member_role(self.slug, user_id, new)
                except ApiError:
                    dropdown.value = old
                    self.page.update()
                    raise
                snack(self.page, f"{who(member)} is now {ROLE_LABELS[updated['role']]}.")
                if self._is_me(user_id):  # my own rights changed: show what they allow now
                    self.state.tenant["role"] = updated["role"]
                    await self.state.router.go(f"/t/{self.slug}/members")
                    return
                await self._load()

            def revert() -> None:
                dropdown.value = old
                self.page.update()

            self.confirm(
                "Change role",
                f"Change the role of {who(member)} from {ROLE_LABELS[old]} to {ROLE_LABELS[new]}?",
                "Change role",
                change,
                on_cancel=revert,
            )

        return selected

    def _confirm_remove(self, user_id: str) -> Callable[[Any], Any]:
        @safe
        async def click(_: ft.ControlEvent) -> None:
            member = self.members[user_id]

            async def remove() -> None:
                await self.state.api.remove_member(self.slug, user_id)
                snack(self.page, f"Removed {who(member)}.")
                await self._load()

            self.confirm(
                "Remove member",
                f"Remove {who(member)} from this tenant? They lose access right away.",
                "Remove",
                remove,
                destructive=True,
            )

        return click

    def _confirm_revoke_sessions(self, user_id: str) -> Callable[[Any], Any]:
        @safe
        async def click(_: ft.ControlEvent) -> None:
            member = self.members[user_id]

            async def revoke() -> None:
                result = await self.state.api.revoke_member_sessions(self.slug, user_id)
                n = int((result or {}).get("revoked", 0))
                snack(
                    self.page,
                    f"Signed {who(member)} out of {n} session{'s' if n != 1 else ''}.",
                )

            self.confirm(
                "Sign out everywhere",
                f"Sign {who(member)} out of every browser? API tokens keep working.",
                "Sign out",
                revoke,
            )

        return click

    def _confirm_revoke_invitation(self, invitation: dict[str, Any]) -> Callable[[Any], Any]:
        @safe
        async def click(_: ft.ControlEvent) -> None:
            async def revoke() -> None:
                await self.state.api.revoke_invitation(self.slug, str(invitation["id"]))
                snack(self.page, f"Revoked the invitation for {invitation['email']}.")
                await self._load()

            self.confirm(
                "Revoke invitation",
                f"Revoke the invitation for {invitation['email']}? The link stops working.",
                "Revoke",
                revoke,
                destructive=True,
            )

        return click

    # -- inviting ------------------------------------------------------------------------------

    @safe
    async def _open_invite(self, _: ft.ControlEvent) -> None:
        email = ft.TextField(
            label="Email",
            hint_text="name@example.com",
            autofocus=True,
            max_length=320,
            error_max_lines=3,
        )
        role = ft.Dropdown(
            label="Role",
            value="viewer",
            options=[ft.DropdownOption(key=r, text=ROLE_LABELS[r]) for r in ROLES],
            tooltip="The role they get when they join",
            width=420,
        )

        @safe
        async def send(_: ft.ControlEvent) -> None:
            address = (email.value or "").strip()
            if not address or "@" not in address:
                email.error = "Enter an email address, such as name@example.com."
                self.page.update()
                return
            try:
                await self.state.api.create_invitation(
                    self.slug, email=address, role=role.value or "viewer"
                )
            except ApiError as exc:
                fields = field_errors(exc)
                if exc.status == 409:  # already a member, or already invited
                    fields.setdefault("email", exc.message)
                email.error = fields.get("email")
                role.error_text = fields.get("role")
                if not fields:
                    snack(self.page, problem_text(exc), error=True)
                self.page.update()
                return
            self.close_dialog()
            snack(self.page, f"Invited {address} as {ROLE_LABELS[role.value or 'viewer']}.")
            await self._load()

        self.open_dialog(
            modal(
                "Invite a member",
                [ft.Text("They join by signing in with this email address."), email, role],
                confirm=confirm_button("Send invitation", send, tooltip="Send the invitation"),
                on_cancel=lambda _: self.close_dialog(),
                cancel_tooltip="Close without inviting",
            )
        )
