"""Running Alembic from code: upgrade, downgrade, and granting the app role on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from console.db import create_engine

# In a wheel (the container image) the scripts ship inside the package (pyproject's
# force-include); in a source checkout (editable install) they are at the repository root.
_PACKAGED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATIONS_DIR = (
    _PACKAGED_MIGRATIONS
    if _PACKAGED_MIGRATIONS.is_dir()
    else Path(__file__).resolve().parents[2] / "migrations"
)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


async def grant_app_role(owner_url: str, app_url: str) -> str | None:
    """Let the app's (non-owner) role use the tables; RLS still applies to it."""
    owner, app = make_url(owner_url), make_url(app_url)
    if owner.get_backend_name() != "postgresql" or not app.username:
        return None
    if owner.username == app.username:
        return None
    role = app.username
    engine = create_engine(owner_url, pool_size=1)
    quoted = '"' + role.replace('"', '""') + '"'
    async with engine.begin() as conn:
        await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
        await conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        )
        await conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    await engine.dispose()
    return role
