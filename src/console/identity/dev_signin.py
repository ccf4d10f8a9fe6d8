"""Wiring of the development identity provider: the console's client and its users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from starlette.types import ASGIApp

from console.db import Database
from console.identity.devidp import DevClient, DevUser, create_dev_idp
from console.identity.models import User
from console.identity.providers import DEV_CLIENT_ID, dev_client_secret
from console.settings import Settings

KNOWN_USERS_SHOWN = 20


def create_dev_idp_app(settings: Settings, db: Database) -> ASGIApp:
    """The dev provider at /dev-idp, with one client (the console) and the console's users."""

    async def known_users() -> Sequence[DevUser]:
        async with db.system_session() as session:
            users = await session.scalars(
                select(User).order_by(User.is_operator.desc(), User.email).limit(KNOWN_USERS_SHOWN)
            )
            return [DevUser(email=u.email, name=u.name) for u in users]

    return create_dev_idp(
        issuer=settings.dev_idp_issuer,
        clients=[
            DevClient(
                client_id=DEV_CLIENT_ID,
                client_secret=dev_client_secret(settings),
                redirect_uris=(settings.oauth_callback_url,),
            )
        ],
        known_users=known_users,
    )
