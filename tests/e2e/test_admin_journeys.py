"""An admin's and an operator's day in the browser, end to end (Chromium, the real console):

1. an admin creates a project (a bad key is refused first, with the reason), renames it,
   archives it (the archived filter lists it), restores it and deletes it after a confirmation
   that names it;
2. an admin invites a viewer, who signs in through the tenant's identity provider and sees
   the projects without any control to change them;
3. two people edit the same project: the second save is refused with an explanation and a
   reload that keeps what they typed, after which they can save;
4. the operator creates a tenant with its first admin, suspends it (its user's screen says
   so, on refresh and on the sign-in screen) and resumes it.

Each journey runs in a tenant of its own, so the demo tenant stays as the other tests expect.
Screens are reached by their URLs (deep links), not through the navigation, and every
sign-in goes through the development identity provider's "another user" form.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Console
from tests.e2e.flutter import (
    expect,
    navigate,
    open_dashboard,
    reload,
    shot,
    sign_in_as_email,
    sign_in_button,
    type_into,
)

OPERATOR_EMAIL = "operator@console.example"  # seeded with the demo tenant (console.seed)
# This module's screenshots: a folder of their own under artifacts/ (other test sessions
# running at the same time clear the PNGs at its top level).
SHOTS = "admin-journeys"


@pytest.fixture(scope="module", autouse=True)
def shots_folder(artifacts: Path) -> Path:
    """An empty folder for this module's screenshots."""
    folder = artifacts / SHOTS
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


def snap(page: Any, name: str) -> Path:
    """Screenshot `page` as artifacts/admin-journeys/<name>.png."""
    return shot(page, f"{SHOTS}/{name}")


# -- helpers ---------------------------------------------------------------------------------


def _session_cookie(context: Any) -> dict[str, Any] | None:
    return next((c for c in context.cookies() if c["name"] == "console_session"), None)


def sign_in(page: Any, console: Console, email: str, *, slug: str | None = None) -> None:
    """Sign `email` in from the sign-in screen of tenant `slug` (the operators' one when
    None) through the development identity provider; returns once the browser holds the
    session cookie. Where the dashboard lands afterwards is not assumed: go on with
    `navigate`."""
    screen = f"/dashboard/t/{slug}/sign-in" if slug else "/dashboard/operator/sign-in"
    open_dashboard(page, console.url(screen))
    with page.expect_popup() as opened:
        sign_in_button(page).click()
    popup = opened.value
    popup.wait_for_load_state()
    sign_in_as_email(popup, email)
    deadline = time.monotonic() + 10
    while _session_cookie(page.context) is None:
        assert time.monotonic() < deadline, "no session cookie after signing in"
        page.wait_for_timeout(50)
    expect(sign_in_button(page)).to_have_count(0)  # the dashboard moved on


def api(console: Console, context: Any) -> httpx.Client:
    """The console's API as the user signed in to browser `context` (its session cookie, and
    the console's origin, as the dashboard's own requests carry)."""
    cookie = _session_cookie(context)
    assert cookie is not None, "not signed in"
    return httpx.Client(
        base_url=console.base,
        headers={"Cookie": f"console_session={cookie['value']}", "Origin": console.base},
        timeout=15,
    )


def button(scope: Any, name: str) -> Any:
    return scope.get_by_role("button", name=name, exact=True)


def dialog(page: Any) -> Any:
    """The open dialog (Flutter's modal route); its controls are the only ones reachable."""
    return page.get_by_role("alertdialog")


def field(scope: Any, label: str) -> Any:
    """A text field by its label (Flutter appends the hint text to the accessible name)."""
    return scope.get_by_role("textbox", name=re.compile(rf"^{re.escape(label)}\b"))


def snackbar(page: Any, text: str | re.Pattern[str]) -> Any:
    """A snackbar by its message (Flutter names the snackbar's group with it)."""
    return page.get_by_role("group", name=text, exact=True)


def cell(scope: Any, text: str) -> Any:
    return scope.get_by_role("cell", name=text, exact=True)


def create_tenant(console: Console, slug: str, name: str, admin_email: str) -> None:
    """A tenant with its first admin (CLI); it signs in through the development provider."""
    console.cli("tenants", "create", slug, name, "--admin-email", admin_email)


def create_project(client: httpx.Client, slug: str, **fields: str) -> dict[str, Any]:
    created = client.post(f"/api/v1/tenants/{slug}/projects", json=fields)
    assert created.status_code == 201, created.text
    return created.json()


# -- 1. an admin manages a project -------------------------------------------------------------


def test_admin_creates_renames_archives_restores_and_deletes_a_project(
    console: Console, new_context: Callable[..., Any]
) -> None:
    slug, email = "adm-projects", "pat@projects.example"
    create_tenant(console, slug, "Projects Journey Co", email)
    page = new_context().new_page()
    sign_in(page, console, email, slug=slug)
    projects_url = console.url(f"/dashboard/t/{slug}/projects")
    navigate(page, projects_url)
    expect(page.get_by_text("No projects yet.", exact=True)).to_be_visible()

    # Create: a key starting with a digit is refused next to the field, nothing is created.
    button(page, "New project").click()
    form = dialog(page)
    type_into(field(form, "Key"), "1PAY")
    type_into(field(form, "Name"), "Payments platform")
    button(form, "Create").click()
    expect(form.get_by_text(re.compile(r"^Key must start with a letter"))).to_be_visible()
    snap(page, "admin-01-create-key-refused")
    with api(console, page.context) as client:
        assert client.get(f"/api/v1/tenants/{slug}/projects").json()["total"] == 0

    type_into(field(form, "Key"), "PAY")
    button(form, "Create").click()
    expect(dialog(page)).to_have_count(0)
    expect(snackbar(page, "Created PAY.")).to_be_visible()
    expect(cell(page, "PAY")).to_be_visible()
    expect(cell(page, "Payments platform")).to_be_visible()
    expect(page.get_by_text("1 project", exact=True)).to_be_visible()
    snap(page, "admin-02-created")

    # Open it and rename it in the edit dialog.
    cell(page, "Open PAY — Payments platform").get_by_role("button").click()
    expect(page).to_have_title("PAY · Console")
    detail_url = page.url
    assert re.search(rf"/dashboard/t/{slug}/projects/[0-9a-f-]{{36}}$", detail_url), detail_url
    button(page, "Edit").click()
    editor = dialog(page)
    expect(editor.get_by_text("Editing version 1 of PAY.", exact=True)).to_be_visible()
    type_into(field(editor, "Name"), "Payments platform v2")
    snap(page, "admin-03-edit-dialog")
    button(editor, "Save").click()
    expect(snackbar(page, "Saved PAY (version 2).")).to_be_visible()
    snap(page, "admin-04-renamed")

    # Archive: the detail says so, and the list filtered on archived shows it.
    button(page, "Archive").click()
    expect(snackbar(page, "Archived PAY — Payments platform v2.")).to_be_visible()
    expect(page.get_by_text("Archived", exact=True).first).to_be_visible()
    expect(button(page, "Restore")).to_be_visible()
    expect(button(page, "Archive")).to_have_count(0)
    snap(page, "admin-05-archived")
    navigate(page, f"{projects_url}?status=archived")
    expect(cell(page, "PAY")).to_be_visible()
    expect(cell(page, "Payments platform v2")).to_be_visible()
    expect(cell(page, "Archived")).to_be_visible()
    snap(page, "admin-06-archived-filter")
    navigate(page, f"{projects_url}?status=active")
    expect(page.get_by_text("No active projects.", exact=True)).to_be_visible()

    # Restore it, then delete it: the confirmation names the project.
    navigate(page, detail_url)
    button(page, "Restore").click()
    expect(snackbar(page, "Restored PAY — Payments platform v2.")).to_be_visible()
    expect(page.get_by_text("Active", exact=True).first).to_be_visible()
    button(page, "Delete").click()
    confirm = dialog(page)
    expect(confirm.get_by_text("Delete PAY — Payments platform v2?", exact=True)).to_be_visible()
    expect(confirm.get_by_text(re.compile("this cannot be undone"))).to_be_visible()
    snap(page, "admin-07-delete-confirmation")
    button(confirm, "Delete").click()
    expect(page.get_by_text("No projects yet.", exact=True)).to_be_visible()
    expect(cell(page, "PAY")).to_have_count(0)
    assert page.url == projects_url, page.url
    snap(page, "admin-08-deleted")
    with api(console, page.context) as client:
        assert client.get(f"/api/v1/tenants/{slug}/projects").json()["total"] == 0


# -- 2. an invited viewer signs in and can only look ----------------------------------------


def test_invited_viewer_signs_in_and_sees_projects_without_edit_controls(
    console: Console, new_context: Callable[..., Any]
) -> None:
    slug, email, viewer = "adm-invite", "ivy@invite.example", "vera@invite.example"
    create_tenant(console, slug, "Invite Journey Co", email)
    admin = new_context().new_page()
    sign_in(admin, console, email, slug=slug)
    with api(console, admin.context) as client:
        project = create_project(client, slug, key="ROAD", name="Roadmap")

    navigate(admin, console.url(f"/dashboard/t/{slug}/members"))
    expect(admin.get_by_text("No pending invitations.", exact=True)).to_be_visible()
    button(admin, "Invite").click()
    form = dialog(admin)
    type_into(field(form, "Email"), viewer)
    # The role picker (named by its tooltip) proposes Viewer; the invitation row confirms it.
    expect(button(form, "The role they get when they join")).to_be_visible()
    snap(admin, "invite-01-invite-dialog")
    button(form, "Send invitation").click()
    expect(dialog(admin)).to_have_count(0)
    expect(snackbar(admin, f"Invited {viewer} as Viewer.")).to_be_visible()
    expect(admin.get_by_text("Pending invitations", exact=True)).to_be_visible()
    invitation = admin.get_by_role("row").filter(has=cell(admin, viewer))
    expect(cell(invitation, "Viewer")).to_be_visible()
    snap(admin, "invite-02-invitation-pending")

    # The invited person, in a browser of their own, signs in with that email.
    page = new_context().new_page()
    sign_in(page, console, viewer, slug=slug)
    navigate(page, console.url(f"/dashboard/t/{slug}/projects"))
    expect(cell(page, "ROAD")).to_be_visible()
    expect(cell(page, "Roadmap")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Signed in as "))).to_have_accessible_name(
        f"Signed in as {viewer}"
    )
    for absent in ("New project", "Import", "Export", "Edit", "Archive", "Delete"):
        expect(button(page, absent)).to_have_count(0)
    snap(page, "invite-03-viewer-projects")

    navigate(page, console.url(f"/dashboard/t/{slug}/projects/{project['id']}"))
    expect(page).to_have_title("ROAD · Console")
    expect(page.get_by_text("Version", exact=True)).to_be_visible()  # the details are shown
    expect(button(page, "All projects")).to_be_visible()
    for absent in ("Edit", "Archive", "Restore", "Delete"):
        expect(button(page, absent)).to_have_count(0)
    snap(page, "invite-04-viewer-project-detail")

    # The invitation was used: a viewer membership, no pending invitation left.
    with api(console, admin.context) as client:
        members = client.get(f"/api/v1/tenants/{slug}/members").json()
        invitations = client.get(f"/api/v1/tenants/{slug}/invitations").json()
    assert {m["email"]: m["role"] for m in members}[viewer] == "viewer"
    assert [i for i in invitations if i["status"] == "pending"] == []


# -- 3. two people edit the same project --------------------------------------------------


def test_second_save_of_a_concurrent_edit_explains_the_conflict_and_reloads(
    console: Console, new_context: Callable[..., Any]
) -> None:
    slug, email = "adm-conflict", "cody@conflict.example"
    create_tenant(console, slug, "Conflict Journey Co", email)
    first = new_context()
    a = first.new_page()
    sign_in(a, console, email, slug=slug)
    client = api(console, first)
    project = create_project(client, slug, key="DOCS", name="Docs site")
    detail_url = console.url(f"/dashboard/t/{slug}/projects/{project['id']}")

    # The same admin in a second browser (A's cookies, its own dashboard session).
    b = new_context(storage_state=first.storage_state()).new_page()
    navigate(a, detail_url)
    open_dashboard(b, detail_url)
    for page in (a, b):
        expect(page).to_have_title("DOCS · Console")
        expect(button(page, "Edit")).to_be_visible()

    # A saves first.
    button(a, "Edit").click()
    type_into(field(dialog(a), "Name"), "Docs site (A)")
    button(dialog(a), "Save").click()
    expect(snackbar(a, "Saved DOCS (version 2).")).to_be_visible()
    snap(a, "conflict-01-a-saved")

    # B, still on version 1, saves too: refused, told why, offered a reload.
    button(b, "Edit").click()
    type_into(field(dialog(b), "Name"), "Docs site (B)")
    button(dialog(b), "Save").click()
    conflict = dialog(b)
    expect(conflict.get_by_text("Someone saved this project first", exact=True)).to_be_visible()
    expect(
        conflict.get_by_text("You were working on version 1; someone has since saved version 2.")
    ).to_be_visible()
    expect(button(conflict, "Reload")).to_be_visible()
    snap(b, "conflict-02-b-refused")
    path = f"/api/v1/tenants/{slug}/projects/{project['id']}"
    assert client.get(path).json()["name"] == "Docs site (A)"

    # Reload: A's version in the editor, B's text kept beside it to copy from.
    button(conflict, "Reload").click()
    editor = dialog(b)
    expect(editor.get_by_text("Editing version 2 of DOCS.", exact=True)).to_be_visible()
    expect(field(editor, "Name")).to_have_value("Docs site (A)")
    # B's draft: text a screen reader reads, and a button that copies it.
    expect(editor.get_by_text(re.compile(r"Your name: Docs site \(B\)"))).to_be_visible()
    expect(button(editor, "Copy your text")).to_be_visible()
    snap(b, "conflict-03-b-reloaded")
    type_into(field(editor, "Name"), "Docs site (A+B)")
    button(editor, "Save").click()
    expect(snackbar(b, "Saved DOCS (version 3).")).to_be_visible()
    snap(b, "conflict-04-b-saved")
    saved = client.get(path).json()
    client.close()
    assert (saved["name"], saved["version"]) == ("Docs site (A+B)", 3)


# -- 4. the operator suspends a tenant -----------------------------------------------------


def tenant_row(page: Any, slug: str) -> Any:
    """The operator console's table row of tenant `slug`."""
    return page.get_by_role("row").filter(has=cell(page, slug))


def test_operator_creates_suspends_and_resumes_a_tenant(
    console: Console, new_context: Callable[..., Any]
) -> None:
    slug, name, email = "adm-suspend", "Suspend Journey Co", "sam@suspend.example"
    operator = new_context().new_page()
    sign_in(operator, console, OPERATOR_EMAIL)
    navigate(operator, console.url("/dashboard/operator"))
    button(operator, "Create tenant").click()
    form = dialog(operator)
    type_into(field(form, "Slug"), slug)
    type_into(field(form, "Name"), name)
    type_into(field(form, "First admin email"), email)
    snap(operator, "operator-01-create-tenant")
    button(form, "Create").click()
    expect(dialog(operator)).to_have_count(0)
    expect(snackbar(operator, f"Created {name} with {email} as its admin.")).to_be_visible()
    type_into(field(operator, "Search tenants"), slug)  # its row alone, for the screenshots
    operator.keyboard.press("Enter")
    expect(operator.get_by_role("row")).to_have_count(2)  # the header and its row
    row = tenant_row(operator, slug)
    expect(row).to_have_count(1)
    # Slug, name, status, members (its first admin), projects (none), actions.
    for column, text in enumerate((slug, name, "Active", "1", "0")):
        expect(row.get_by_role("cell").nth(column)).to_have_accessible_name(text)
    snap(operator, "operator-02-tenant-listed")

    # Its first admin signs in and works in it.
    page = new_context().new_page()
    sign_in(page, console, email, slug=slug)
    navigate(page, console.url(f"/dashboard/t/{slug}/projects"))
    expect(page.get_by_text("No projects yet.", exact=True)).to_be_visible()

    # The operator suspends it, after a confirmation.
    button(row, "Suspend").click()
    confirm = dialog(operator)
    expect(confirm.get_by_text(f"Suspend {name}?", exact=True)).to_be_visible()
    expect(
        confirm.get_by_text(re.compile("Its members are refused until it is resumed"))
    ).to_be_visible()
    snap(operator, "operator-03-suspend-confirmation")
    button(confirm, "Suspend").click()
    expect(row.get_by_role("cell", name=re.compile(r"^Suspended\b"))).to_be_visible()
    expect(button(row, "Resume")).to_be_visible()
    snap(operator, "operator-04-suspended")

    # The signed-in user refreshes the page: told that the tenant is suspended.
    reload(page)
    suspended = re.compile(
        rf"^Tenant '{slug}' is suspended; its data cannot be used until a platform operator "
        "resumes it"
    )
    # On the screen, not in a snackbar that goes away; nothing of the tenant is offered.
    expect(page.get_by_text("This tenant is suspended", exact=True)).to_be_visible()
    expect(page.get_by_text(suspended)).to_be_visible()
    expect(page.get_by_text("No projects yet.", exact=True)).to_have_count(0)
    expect(button(page, "New project")).to_have_count(0)
    snap(page, "operator-05-user-sees-suspended")

    # The tenant's sign-in screen says so and offers no sign-in.
    other = new_context().new_page()
    open_dashboard(other, console.url(f"/dashboard/t/{slug}/sign-in"))
    # Flutter names the sign-in card's group with its texts.
    card = other.get_by_role("group", name=re.compile(f"{name} is suspended: its members cannot"))
    expect(card).to_be_visible()
    expect(sign_in_button(other)).to_have_count(0)
    snap(other, "operator-06-sign-in-refused")

    # Resumed (after its confirmation): the user is back in.
    button(row, "Resume").click()
    expect(dialog(operator).get_by_text(f"Resume {name}?", exact=True)).to_be_visible()
    button(dialog(operator), "Resume").click()
    expect(button(row, "Suspend")).to_be_visible()
    reload(page)
    expect(page.get_by_text("No projects yet.", exact=True)).to_be_visible()
    expect(page.get_by_text("This tenant is suspended", exact=True)).to_have_count(0)
    snap(page, "operator-07-user-back-in")
