"""BaseView: a screen with a lifecycle (enter, leave, refresh) that owns its tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import flet as ft

from console.dashboard.controls.dialogs import confirm_button, modal
from console.dashboard.notify import safe
from console.dashboard.state import SessionState, get_session_state


class BaseView:
    """Builds one `ft.View`; the router calls on_enter after showing it and on_leave before
    replacing it. Tasks started with `run_task` are cancelled on leave."""

    title = "Console"
    needs_user = True

    def __init__(self, page: ft.Page, route: str, params: dict[str, str], query: dict[str, str]):
        self.page = page
        self.route = route
        self.params = params
        self.query = query
        self._tasks: set[Future[Any]] = set()
        self.dialog: ft.AlertDialog | None = None
        self.unavailable = False  # show_unavailable replaced the screen
        self.view = ft.View(route=route, controls=self.build(), padding=0, spacing=0)

    @property
    def state(self) -> SessionState:
        return get_session_state(self.page)

    def build(self) -> list[ft.Control]:
        return []

    async def on_enter(self) -> None:
        """Load data; called once the view is on the page."""

    async def on_refresh(self) -> None:
        """The browser reconnected (refresh, network blip): reload what is shown (a screen
        that was unavailable is built again: the reason may be gone)."""
        if self.unavailable:
            await self.state.router.show(self.route)
            return
        await self.on_enter()

    async def reload(self) -> None:
        """Show the latest data (the user chose the screen they are on again)."""
        await self.on_refresh()

    async def on_leave(self) -> None:
        # The view's dialog goes with it (a sign-out elsewhere must not leave it on top of the
        # sign-in screen).
        self.close_dialog()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def run_task(self, coro_fn: Callable[..., Awaitable[Any]], *args: Any) -> Future[Any]:
        """Start background work owned by this view (and the session, which cancels on close)."""
        future = self.page.run_task(coro_fn, *args)
        self._tasks.add(future)
        self.state.tasks.add(future)

        def _done(f: Future[Any]) -> None:
            self._tasks.discard(f)
            self.state.tasks.discard(f)

        future.add_done_callback(_done)
        return future

    def show_unavailable(self, title: str, message: str) -> None:
        """Replace the screen with why it cannot be used (a suspended tenant, say); the app bar
        stays, so the user can switch tenant or sign out."""
        self.close_dialog()
        self.unavailable = True
        self.view.controls = [
            ft.Container(
                padding=24,
                expand=True,
                content=ft.Column(
                    [
                        ft.Icon(ft.Icons.BLOCK, size=48, color=ft.Colors.ERROR),
                        ft.Text(title, size=22, weight=ft.FontWeight.BOLD),
                        ft.Text(message),
                    ],
                    spacing=12,
                ),
            )
        ]
        self.page.update()

    # -- dialogs -------------------------------------------------------------------------------

    def open_dialog(self, dialog: ft.AlertDialog) -> None:
        self.dialog = dialog
        self.page.show_dialog(dialog)

    def close_dialog(self) -> None:
        """Close this view's dialog — not `page.pop_dialog()`, which closes the topmost one
        (perhaps an error snackbar)."""
        if self.dialog is not None and self.dialog.open:
            self.dialog.open = False
            self.dialog.update()

    def confirm(
        self,
        title: str,
        text: str,
        label: str,
        on_confirm: Callable[[], Awaitable[None]],
        *,
        destructive: bool = False,
        tooltip: str | None = None,
        cancel_tooltip: str = "Close without changing anything",
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        """Ask before doing something; `on_confirm` runs (its errors shown as snackbars) only
        after the user said yes."""

        @safe
        async def yes(_: ft.ControlEvent) -> None:
            self.close_dialog()
            await on_confirm()

        def no(_: ft.ControlEvent) -> None:
            self.close_dialog()
            if on_cancel is not None:
                on_cancel()

        self.open_dialog(
            modal(
                title,
                [ft.Text(text)],
                confirm=confirm_button(
                    label, yes, tooltip=tooltip or title, destructive=destructive
                ),
                on_cancel=no,
                cancel_tooltip=cancel_tooltip,
            )
        )

    @property
    def task_count(self) -> int:
        return len(self._tasks)
