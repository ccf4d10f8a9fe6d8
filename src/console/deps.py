"""App-wide FastAPI dependencies: the settings and the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from console.db import Database
from console.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.db


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits once after the handler, before the response is sent."""
    async with request.app.state.db.unit_of_work() as session:
        yield session


AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppDatabase = Annotated[Database, Depends(get_database)]
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]
