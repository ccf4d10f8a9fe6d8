"""A tenant's settings (admins): its identity provider (the client secret is write-only: shown as
set / not set, never displayed), allowed email domains, join policy, and a check of the saved
sign-in configuration."""

from __future__ import annotations

import re
from typing import Any

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.notify import problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_as_admin, page_body

DENIED = "Only admins can change tenant settings."
DEFAULT_SCOPES = "openid email profile"
JOIN_POLICIES = {
    "invite_only": "Users need an invitation",
    "open": "Unknown users from the allowed domains may join as viewers",
}
FIELDS = ("issuer", "client_id", "client_secret", "scopes", "allowed_email_domains", "join_policy")


def words(text: str | None) -> list[str]:
    """Items separated by spaces, commas or new lines."""
    return [w for w in re.split(r"[\s,]+", text or "") if w]


class SettingsView(BaseView):
    title = "Settings"
    section = "settings"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.config: dict[str, Any] | None = None
        self.issuer = ft.TextField(
            label="Issuer URL",
            tooltip="Exactly as the provider's discovery document names it",
            hint_text="https://login.example.com/realms/acme",
            error_max_lines=3,
        )
        self.client_id = ft.TextField(
            label="Client ID", tooltip="The console's client at the provider"
        )
        self.secret_state = ft.Text("")
        self.client_secret = ft.TextField(
            label="New client secret",
            tooltip="Write-only: type a new secret to replace the stored one",
            hint_text="Leave empty to keep the current secret",
            password=True,
            can_reveal_password=False,
        )
        self.scopes = ft.TextField(
            label="Scopes",
            tooltip="Separated by spaces; openid is always requested",
            value=DEFAULT_SCOPES,
        )
        self.domains = ft.TextField(
            label="Allowed email domains",
            tooltip="Separated by spaces or commas, e.g. example.com",
            hint_text="example.com, example.org",
            error_max_lines=3,
        )
        self.policy_error = ft.Text("", visible=False, color=ft.Colors.ERROR)
        self.join_policy = ft.RadioGroup(
            value="invite_only",
            tooltip="Who may join this tenant when they sign in",
            content=ft.Column(
                [ft.Radio(value=k, label=text) for k, text in JOIN_POLICIES.items()], tight=True
            ),
        )
        self.save_button = ft.FilledButton(
            "Save", icon=ft.Icons.SAVE, tooltip="Save the identity provider", on_click=self._save
        )
        self.check_button = ft.OutlinedButton(
            "Test sign-in configuration",
            icon=ft.Icons.NETWORK_CHECK,
            tooltip="Fetch the saved issuer's discovery document and keys",
            on_click=self._check,
        )
        self.check_result = ft.Column([], visible=False, spacing=4)
        self.intro = ft.Text("")
        self.form = ft.Column(
            [
                ft.Text("Identity provider", size=18, weight=ft.FontWeight.BOLD),
                self.intro,
                self.issuer,
                self.client_id,
                self.secret_state,
                self.client_secret,
                self.scopes,
                self.domains,
                ft.Text("Join policy", weight=ft.FontWeight.BOLD),
                self.join_policy,
                self.policy_error,
                ft.Row([self.save_button, self.check_button], spacing=12, wrap=True),
                self.check_result,
            ],
            spacing=12,
            width=560,
            visible=False,
        )
        self.loading = ft.ProgressBar(visible=True)
        self.denied = ft.Text(DENIED, visible=False)
        self.error = ft.Text("", visible=False, color=ft.Colors.ERROR)
        self.retry = ft.TextButton(
            "Try again", tooltip="Load the settings again", on_click=self._retry, visible=False
        )
        return page_body(
            self.loading,
            ft.Text("Settings", size=24, weight=ft.FontWeight.BOLD),
            self.denied,
            self.error,
            self.retry,
            self.form,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    @safe
    async def on_enter(self) -> None:
        if not await enter_as_admin(self, self.slug, self.loading, self.denied):
            return
        await self._load()

    async def _load(self) -> None:
        self.loading.visible = True
        self.error.visible = self.retry.visible = False
        self.page.update()
        try:
            config = await self.state.api.get_identity_provider(self.slug)
        except ApiError as exc:
            if exc.status == 404:
                config = None
            else:
                if exc.status != 401:
                    self.error.value = f"The settings could not be loaded: {problem_text(exc)}"
                    self.error.visible = self.retry.visible = True
                raise
        finally:
            self.loading.visible = False
            self.page.update()
        self._show(config)
        self.form.visible = True
        self.page.update()

    def _show(self, config: dict[str, Any] | None) -> None:
        self.config = config
        self.client_secret.value = ""
        if config is None:
            self.intro.value = "No identity provider is configured yet: nobody can sign in here."
            self.secret_state.value = "Client secret: not set"
            self.check_button.disabled = True
            return
        self.intro.value = "Users of this tenant sign in with this OpenID Connect provider."
        self.issuer.value = config["issuer"]
        self.client_id.value = config["client_id"]
        self.secret_state.value = (
            "Client secret: set" if config["client_secret_set"] else "Client secret: not set"
        )
        self.scopes.value = " ".join(config["scopes"])
        self.domains.value = ", ".join(config["allowed_email_domains"])
        self.join_policy.value = config["join_policy"]
        self.check_button.disabled = False

    # -- actions -----------------------------------------------------------------------------

    @safe
    async def _retry(self, _: ft.ControlEvent) -> None:
        await self._load()

    def _fields(self) -> dict[str, ft.TextField]:
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scopes": self.scopes,
            "allowed_email_domains": self.domains,
        }

    @safe
    async def _save(self, _: ft.ControlEvent) -> None:
        body: dict[str, Any] = {
            "issuer": (self.issuer.value or "").strip(),
            "client_id": (self.client_id.value or "").strip(),
            "scopes": words(self.scopes.value),
            "allowed_email_domains": words(self.domains.value),
            "join_policy": self.join_policy.value or "invite_only",
        }
        if self.client_secret.value:
            body["client_secret"] = self.client_secret.value
        for field in self._fields().values():
            field.error = None
        self.policy_error.visible = False
        try:
            saved = await self.state.api.put_identity_provider(self.slug, body)
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = self._field_errors(exc)
            if not errors:
                raise
            fields = self._fields()
            for name, message in errors.items():
                if name in fields:
                    fields[name].error = message
            if "join_policy" in errors:
                self.policy_error.value = errors["join_policy"]
                self.policy_error.visible = True
            self.page.update()
            return
        self._show(saved)
        self.check_result.visible = False
        self.page.update()
        snack(self.page, "Identity provider settings saved.")

    @staticmethod
    def _field_errors(exc: ApiError) -> dict[str, str]:
        """The 422's errors by form field (an item of a list is the list's field)."""
        found: dict[str, str] = {}
        for error in exc.problem.get("errors", []):
            loc = [p for p in error.get("loc", []) if p != "body"]
            if loc and str(loc[0]) in FIELDS:
                found.setdefault(str(loc[0]), str(error.get("msg", "Invalid value.")))
        if exc.problem.get("field") in FIELDS:
            found[exc.problem["field"]] = exc.message
        return found

    @safe
    async def _check(self, _: ft.ControlEvent) -> None:
        self.check_button.disabled = True
        self.check_result.controls = [ft.Text("Testing the saved sign-in configuration…")]
        self.check_result.visible = True
        self.page.update()
        try:
            result = await self.state.api.check_identity_provider(self.slug)
        finally:
            self.check_button.disabled = False
            self.page.update()
        if result["ok"]:
            lines = [
                # The icon carries the colour; the text keeps the theme's (contrast in both).
                ft.Row(
                    [
                        ft.Icon(ft.Icons.CHECK_CIRCLE, color=ft.Colors.GREEN_700),
                        ft.Text(
                            f"Sign-in configuration works: {result['detail']}",
                            weight=ft.FontWeight.BOLD,
                            expand=True,
                        ),
                    ],
                    spacing=8,
                ),
                ft.Text(f"Issuer: {result['issuer']}"),
            ] + [
                ft.Text(f"{name.replace('_', ' ')}: {url}")
                for name, url in sorted(result["endpoints"].items())
            ]
        else:
            lines = [
                ft.Text(
                    "Sign-in configuration does not work.",
                    weight=ft.FontWeight.BOLD,
                    color=ft.Colors.ERROR,
                ),
                ft.Text(f"Issuer: {result['issuer']}"),
                ft.Text(result["detail"]),
            ]
        self.check_result.controls = lines
        self.page.update()
