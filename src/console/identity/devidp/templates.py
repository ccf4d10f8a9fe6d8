"""The provider's HTML: self-contained pages (no scripts, no external resources)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from console.identity.devidp.csrf import FIELD_NAME
from console.identity.devidp.models import MAX_NAME_LENGTH, DevUser

BANNER = "Development identity provider — not for production"
SCOPE_LABELS = {
    "openid": "Sign you in with a stable identifier",
    "email": "Your email address",
    "profile": "Your name",
}
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}
main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;
box-shadow:0 1px 3px #0003}
h1{font-size:1.4rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.warning{background:#fff4ce;border:2px solid #8a6d00;padding:.5rem .75rem;border-radius:6px;
font-weight:600}
ul.users{list-style:none;padding:0}ul.users li{margin:.4rem 0}
button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid #1b1f24;
background:#1d4ed8;color:#fff;cursor:pointer}
button.user{width:100%;text-align:left;background:#fff;color:#1b1f24}
button.secondary{background:#fff;color:#1b1f24}
button:focus-visible,input:focus-visible{outline:3px solid #b45309;outline-offset:2px}
label{display:block;margin-top:.75rem;font-weight:600}
input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;border:1px solid #555;
border-radius:4px}
.error{color:#b00020;margin:.25rem 0 0}
.actions{margin-top:1rem}.muted{color:#555}code{word-break:break-all}
"""


@dataclass(frozen=True)
class AuthorizePage:
    client_id: str
    redirect_uri: str
    scopes: Sequence[str]
    known_users: Sequence[DevUser]
    form_action: str
    csrf_token: str
    known_users_failed: bool = False
    email: str = ""
    name: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><main>"
        f'<p class="warning" role="note">{escape(BANNER)}</p>{body}</main></body></html>'
    )


def _form(page: AuthorizePage, fields: str, *, label: str | None = None) -> str:
    aria = f' aria-label="{escape(label)}"' if label else ""
    return (
        f'<form method="post" action="{escape(page.form_action)}"{aria}>'
        f'<input type="hidden" name="{FIELD_NAME}" value="{escape(page.csrf_token)}">'
        f"{fields}</form>"
    )


def _known_users(page: AuthorizePage) -> str:
    if page.known_users_failed:
        return '<p class="error" role="alert">Known users could not be loaded.</p>'
    if not page.known_users:
        return ""
    items = "".join(
        "<li>"
        + _form(
            page,
            '<input type="hidden" name="decision" value="approve">'
            f'<input type="hidden" name="email" value="{escape(user.email)}">'
            f'<input type="hidden" name="name" value="{escape(user.name)}">'
            f'<button type="submit" class="user">{escape(user.name or user.email)} '
            f'<span class="muted">&lt;{escape(user.email)}&gt;</span></button>',
        )
        + "</li>"
        for user in page.known_users
    )
    return (
        '<h2 id="known">Sign in as a known user</h2>'
        f'<ul class="users" aria-labelledby="known">{items}</ul>'
    )


def _input(page: AuthorizePage, name: str, label: str, kind: str, extra: str) -> str:
    value = page.email if name == "email" else page.name
    error = page.errors.get(name)
    described = f' aria-invalid="true" aria-describedby="{name}-error"' if error else ""
    message = f'<p class="error" id="{name}-error">{escape(error)}</p>' if error else ""
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}"{extra}{described}>'
        f"{message}"
    )


def render_authorize(page: AuthorizePage) -> str:
    scopes = "".join(f"<li>{escape(SCOPE_LABELS.get(s, s))}</li>" for s in page.scopes)
    alert = '<p class="error" role="alert">Check the highlighted fields.</p>' if page.errors else ""
    other = _form(
        page,
        '<input type="hidden" name="decision" value="approve">'
        + _input(page, "email", "Email", "email", ' required maxlength="254" autocomplete="email"')
        + _input(
            page,
            "name",
            "Name (optional)",
            "text",
            f' maxlength="{MAX_NAME_LENGTH}" autocomplete="name"',
        )
        + '<div class="actions"><button type="submit">Sign in</button></div>',
        label="Sign in as another user",
    )
    cancel = _form(
        page,
        '<input type="hidden" name="decision" value="cancel">'
        '<button type="submit" class="secondary">Cancel</button>',
        label="Cancel sign-in",
    )
    body = (
        f"<h1>Sign in to <code>{escape(page.client_id)}</code></h1>"
        f"<p>You will return to <code>{escape(page.redirect_uri)}</code>. It asks to:</p>"
        f"<ul>{scopes}</ul>{alert}{_known_users(page)}"
        f"<h2>Sign in as another user</h2>{other}"
        f'<div class="actions">{cancel}</div>'
    )
    return _document("Sign in — development identity provider", body)


def render_error(error: str, description: str | None, *, retry: str | None = None) -> str:
    """A dead end for the user; `retry` links back to a fresh sign-in page when that may help."""
    advice = (
        f'<p><a href="{escape(retry)}">Reload the sign-in page</a> and choose again.</p>'
        if retry
        else '<p class="muted">The application that sent you here is misconfigured, '
        "or the request expired. Go back and start signing in again.</p>"
    )
    body = (
        "<h1>This sign-in request cannot continue</h1>"
        f'<p role="alert"><strong>{escape(error)}</strong>'
        f"{': ' + escape(description) if description else ''}</p>{advice}"
    )
    return _document("Sign-in error — development identity provider", body)
