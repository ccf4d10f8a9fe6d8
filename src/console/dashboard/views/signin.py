"""Sign-in: pick a tenant (or operator sign-in), then sign in through its identity provider."""

from __future__ import annotations

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.handoff import ConsoleAuthorization, PreparedSignIn
from console.dashboard.notify import problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.tenancy.schemas import SLUG_PATTERN


class SignInView(BaseView):
    title = "Sign in"
    needs_user = False

    def build(self) -> list[ft.Control]:
        self.tenant_slug = self.params.get("tenant")
        self.platform = self.route.startswith("/operator/")
        self.heading = ft.Text("Sign in to Console", size=28, weight=ft.FontWeight.BOLD)
        self.explain = ft.Text("")
        self.slug_field = ft.TextField(
            label="Tenant",
            hint_text="your-company",
            autofocus=True,
            on_submit=self._choose,
            width=320,
            visible=not self.tenant_slug and not self.platform,
        )
        self.continue_button = ft.Button(
            "Continue", on_click=self._choose, visible=self.slug_field.visible
        )
        self.sign_in_button = ft.FilledButton(
            "Sign in",
            icon=ft.Icons.LOGIN,
            on_click=self._sign_in,
            visible=bool(self.tenant_slug) or self.platform,
        )
        self.progress = ft.ProgressRing(width=20, height=20, visible=False)
        other = (
            ft.TextButton("Platform operator? Sign in here", on_click=self._operator)
            if not self.platform
            else ft.TextButton("Tenant sign-in", on_click=self._tenant_picker)
        )
        card = ft.Card(
            content=ft.Container(
                padding=32,
                width=460,
                content=ft.Column(
                    [
                        self.heading,
                        self.explain,
                        self.slug_field,
                        ft.Row([self.continue_button, self.sign_in_button, self.progress]),
                        ft.Divider(),
                        other,
                    ],
                    spacing=16,
                    tight=True,
                ),
            )
        )
        return [ft.Container(content=card, alignment=ft.Alignment.CENTER, expand=True, padding=24)]

    @safe
    async def on_enter(self) -> None:
        if self.platform:
            self.heading.value = "Platform operators"
            self.explain.value = "Sign in with the platform's identity provider."
        elif self.tenant_slug:
            try:
                target = await self.state.api.get(f"/api/v1/auth/tenants/{self.tenant_slug}")
            except ApiError as exc:
                self.explain.value = problem_text(exc)
                self.sign_in_button.visible = False
            else:
                self.heading.value = f"Sign in to {target['name']}"
                if target.get("suspended"):
                    self.explain.value = (
                        f"{target['name']} is suspended: its members cannot sign in until a "
                        "platform operator resumes it."
                    )
                    self.sign_in_button.visible = False
                elif target["sign_in_available"]:
                    self.explain.value = "You will continue at your organisation's sign-in page."
                else:
                    self.explain.value = "Sign-in is not configured for this tenant yet."
                    self.sign_in_button.visible = False
        else:
            self.explain.value = "Which tenant do you belong to?"
        self.page.update()

    @safe
    async def _choose(self, _: ft.ControlEvent) -> None:
        slug = (self.slug_field.value or "").strip().lower()
        import re

        if not re.match(SLUG_PATTERN, slug):
            self.slug_field.error = "Use the tenant's short name: letters, digits and dashes."
            self.page.update()
            return
        await self.state.router.go(f"/t/{slug}/sign-in")

    @safe
    async def _operator(self, _: ft.ControlEvent) -> None:
        await self.state.router.go("/operator/sign-in")

    @safe
    async def _tenant_picker(self, _: ft.ControlEvent) -> None:
        await self.state.router.go("/sign-in")

    @safe
    async def _sign_in(self, _: ft.ControlEvent) -> None:
        state = self.state
        if state.signin_lock.locked():
            return  # a double click: one sign-in at a time
        async with state.signin_lock:
            self.sign_in_button.disabled = True
            self.progress.visible = True
            self.page.update()
            try:
                started = await state.api.post(
                    "/api/v1/auth/sign-in",
                    json={"tenant": None if self.platform else self.tenant_slug},
                )
                await self.page.login(
                    PreparedSignIn(
                        authorization_url=started["authorization_url"],
                        state=started["state"],
                        handoff=state.handoff,
                    ),
                    fetch_user=False,
                    authorization=ConsoleAuthorization,
                )
                snack(self.page, "Continue in the sign-in window.")
            finally:
                self.sign_in_button.disabled = False
                self.progress.visible = False
                self.page.update()
