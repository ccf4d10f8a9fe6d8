"""The dev IdP mounted like the console mounts it, and an httpx client acting as the browser."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from console.identity.devidp import DevClient, create_dev_idp
from tests.identity.devidp.flow import (
    CLIENT,
    ISSUER,
    ORIGIN,
    OTHER_CLIENT,
    Provider,
    known_users,
)


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    clients: list[DevClient] = [CLIENT, OTHER_CLIENT]
    idp = create_dev_idp(issuer=ISSUER, clients=clients, known_users=known_users)
    host = Starlette(routes=[Mount("/dev-idp", app=idp)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=ORIGIN) as c:
        yield Provider(c, idp, host)
