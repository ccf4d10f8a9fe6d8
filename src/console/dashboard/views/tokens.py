"""A tenant's API tokens (admins): the list with last use, creating one (its secret is shown
once, with a copy button) and revoking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.controls.dialogs import confirm_button, modal
from console.dashboard.notify import field_errors, problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant, page_body
from console.dashboard.views.members import ROLE_LABELS, ROLES
from console.dashboard.views.projects import ROLE_RANK

EXPIRIES = {"30": "In 30 days", "90": "In 90 days", "365": "In a year", "never": "Never"}


def when(value: str | None, never: str = "—") -> str:
    """An API timestamp to the minute ("—"/`never` when absent)."""
    return value[:16].replace("T", " ") if value else never


class TokensView(BaseView):
    title = "API tokens"
    section = "tokens"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.progress = ft.ProgressBar(visible=True)
        self.create_button = ft.FilledButton(
            "New token",
            icon=ft.Icons.ADD,
            tooltip="Create an API token",
            on_click=self._open_create,
            visible=False,
        )
        self.summary = ft.Text("")
        self.table = ft.DataTable(
            columns=[
                ft.DataColumn(ft.Text(h))
                for h in ("Name", "Role", "Created", "Last used", "Expires", "Status", "")
            ],
            rows=[],
            visible=False,
        )
        self.empty = ft.Text("No API tokens yet.", visible=False)
        self.tokens: dict[str, dict[str, Any]] = {}
        return page_body(
            self.progress,
            ft.Row(
                [self.summary, self.create_button],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                wrap=True,
            ),
            self.table,
            self.empty,
        )

    @safe
    async def on_enter(self) -> None:
        state = self.state
        if await enter_tenant(self, self.slug, self.progress) is None:
            return
        self.role = state.tenant["role"]
        if ROLE_RANK[self.role] < ROLE_RANK["admin"]:
            # The API lets only admins list or create tokens: say so instead of a 403.
            self.progress.visible = False
            self.summary.value = "Only admins of this tenant manage API tokens."
            self.page.update()
            return
        self.create_button.visible = True
        await self._load()

    async def _load(self) -> None:
        self.progress.visible = True
        self.page.update()
        try:
            tokens = await self.state.api.list_api_tokens(self.slug)
        finally:
            self.progress.visible = False
        self.tokens = {str(t["id"]): t for t in tokens}
        self.table.rows = [self._row(t) for t in tokens]
        self.table.visible = bool(tokens)
        active = sum(1 for t in tokens if not t["revoked_at"])
        self.summary.value = (
            f"{len(tokens)} token{'s' if len(tokens) != 1 else ''}, {active} active"
        )
        self.empty.visible = not tokens
        self.page.update()

    def _row(self, t: dict[str, Any]) -> ft.DataRow:
        expired = bool(t["expires_at"]) and t["expires_at"] <= datetime.now(UTC).isoformat()
        status = "Revoked" if t["revoked_at"] else "Expired" if expired else "Active"
        action: ft.Control = ft.Text("")
        if not t["revoked_at"]:
            action = ft.IconButton(
                ft.Icons.BLOCK,
                tooltip=f"Revoke {t['name']}",
                on_click=self._confirm_revoke(str(t["id"])),
            )
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(t["name"], weight=ft.FontWeight.BOLD)),
                ft.DataCell(ft.Text(ROLE_LABELS.get(t["role"], t["role"]))),
                ft.DataCell(ft.Text(when(t["created_at"]))),
                ft.DataCell(ft.Text(when(t["last_used_at"], "Never"))),
                ft.DataCell(ft.Text(when(t["expires_at"], "Never"))),
                ft.DataCell(ft.Text(status)),
                ft.DataCell(action),
            ]
        )

    # -- revoking ------------------------------------------------------------------------------

    def _confirm_revoke(self, token_id: str) -> Callable[[Any], Any]:
        @safe
        async def click(_: ft.ControlEvent) -> None:
            token = self.tokens[token_id]

            async def revoke() -> None:
                await self.state.api.revoke_api_token(self.slug, token_id)
                snack(self.page, f"Revoked {token['name']}.")
                await self._load()

            self.confirm(
                "Revoke API token",
                f"Revoke {token['name']}? Anything using it stops working right away.",
                "Revoke",
                revoke,
                destructive=True,
                tooltip=f"Revoke {token['name']} now",
            )

        return click

    # -- creating ------------------------------------------------------------------------------

    @safe
    async def _open_create(self, _: ft.ControlEvent) -> None:
        name = ft.TextField(label="Name", hint_text="CI deploys", autofocus=True, max_length=100)
        allowed = [r for r in ROLES if ROLE_RANK[r] <= ROLE_RANK[self.role]]
        role = ft.Dropdown(
            label="Role",
            value="viewer",
            options=[ft.DropdownOption(key=r, text=ROLE_LABELS[r]) for r in allowed],
            tooltip="What the token may do (at most your own role)",
            width=420,
        )
        expiry = ft.Dropdown(
            label="Expires",
            value="90",
            options=[ft.DropdownOption(key=k, text=v) for k, v in EXPIRIES.items()],
            tooltip="When the token stops working",
            width=420,
        )

        @safe
        async def save(_: ft.ControlEvent) -> None:
            label = (name.value or "").strip()
            if not label:
                name.error = "Give the token a name, such as what uses it."
                self.page.update()
                return
            days = expiry.value or "90"
            expires_at = (
                None
                if days == "never"
                else (datetime.now(UTC) + timedelta(days=int(days))).isoformat()
            )
            try:
                created = await self.state.api.create_api_token(
                    self.slug, name=label, role=role.value or "viewer", expires_at=expires_at
                )
            except ApiError as exc:
                fields = field_errors(exc)
                name.error = fields.get("name")
                role.error_text = fields.get("role") or (exc.message if exc.status == 403 else None)
                expiry.error_text = fields.get("expires_at")
                if not (name.error or role.error_text or expiry.error_text):
                    snack(self.page, problem_text(exc), error=True)
                self.page.update()
                return
            self.close_dialog()
            await self._load()
            self._show_secret(created)

        self.open_dialog(
            modal(
                "New API token",
                [name, role, expiry],
                confirm=confirm_button("Create", save, tooltip="Create the token"),
                on_cancel=lambda _: self.close_dialog(),
                cancel_tooltip="Close without creating",
            )
        )

    def _show_secret(self, created: dict[str, Any]) -> None:
        """The secret, once: it is in this dialog only (closing it removes it from the page)."""
        secret = created["token"]

        @safe
        async def copied(_: ft.ControlEvent) -> None:
            snack(self.page, "Token copied to the clipboard.")

        self.dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Token {created['name']} created"),
            content=ft.Column(
                [
                    ft.Row(
                        [
                            ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ERROR),
                            ft.Text(
                                "Copy this token now: it will not be shown again.",
                                weight=ft.FontWeight.BOLD,
                                expand=True,
                            ),
                        ]
                    ),
                    ft.TextField(
                        label="Token secret",
                        value=secret,
                        read_only=True,
                        multiline=True,
                        text_style=ft.TextStyle(font_family="monospace"),
                    ),
                    ft.Text("Send it as a header: Authorization: Bearer <token>."),
                ],
                tight=True,
                width=480,
            ),
            actions=[
                ft.OutlinedButton(
                    "Copy",
                    icon=ft.Icons.COPY,
                    tooltip="Copy the token to the clipboard",
                    # Written by the client inside the click: browsers refuse clipboard writes
                    # that arrive after a server round trip.
                    action=ft.CopyToClipboard(secret),
                    on_click=copied,
                ),
                ft.FilledButton("Done", on_click=lambda _: self.close_dialog()),
            ],
        )
        self.open_dialog(self.dialog)
