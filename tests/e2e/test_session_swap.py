"""Login CSRF / session swap: an attacker starts a sign-in and sends the victim the authorization
URL. The victim completes it at the identity provider; the console must refuse the callback
(the sign-in is bound to the attacker's browser) and the attacker must stay signed out."""

from __future__ import annotations

from tests.e2e.conftest import Console
from tests.e2e.flutter import (
    account_button,
    expect,
    open_dashboard,
    reload,
    shot,
    sign_in_button,
    sign_in_screen,
)


def _has_session(context) -> bool:
    return any(c["name"] == "console_session" for c in context.cookies())


def test_victim_completing_an_attackers_sign_in_is_refused(console: Console, new_context):
    attacker = new_context()
    attacker_page = attacker.new_page()
    open_dashboard(attacker_page, console.url("/dashboard/t/demo/sign-in"))
    with attacker_page.expect_popup() as opened:
        sign_in_button(attacker_page).click()
    popup = opened.value
    popup.wait_for_load_state()
    authorization_url = popup.url
    assert "state=" in authorization_url
    popup.close()

    victim = new_context()
    # The victim has used the console before: a binding cookie of their own.
    assert victim.request.get(console.url("/dashboard/")).ok
    assert any(c["name"] == "console_binding" for c in victim.cookies())
    victim_page = victim.new_page()
    victim_page.goto(authorization_url)
    shot(victim_page, "swap-01-victim-at-idp")
    with victim_page.expect_response(lambda r: "/oauth_callback" in r.url) as answered:
        victim_page.get_by_role("button", name="Vic Viewer").click()
    callback = answered.value
    assert callback.status == 400
    expect(victim_page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    expect(victim_page.get_by_text("started in another browser")).to_be_visible()
    shot(victim_page, "swap-02-victim-callback-rejected")
    assert not _has_session(victim)

    # The attacker's tab is not signed in as the victim, now or after a reload.
    attacker_page.wait_for_timeout(1000)
    expect(sign_in_button(attacker_page)).to_be_visible()
    expect(account_button(attacker_page)).to_have_count(0)
    reload(attacker_page)
    expect(sign_in_screen(attacker_page, "Sign in to Demo Company")).to_be_visible()
    expect(account_button(attacker_page)).to_have_count(0)
    shot(attacker_page, "swap-03-attacker-still-signed-out")
    assert not _has_session(attacker)
