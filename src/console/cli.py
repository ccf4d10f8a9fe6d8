"""`console`: run everything embedded, serve and work in production, migrate, and manage."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from typing import Annotated

import typer
import uvicorn

from console.settings import ConfigurationError, Settings, get_settings

app = typer.Typer(help="Console: multi-tenant admin console.", no_args_is_help=True)
tenants_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

Host = Annotated[str, typer.Option(help="Interface to bind.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _settings() -> Settings:
    settings = get_settings()
    try:
        settings.validate_for_startup()
    except ConfigurationError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    return settings


def _serve(host: str, port: int) -> None:
    uvicorn.run(
        "console.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=1,  # Flet sessions live in one process's memory: scale by processes/pods.
        proxy_headers=True,
        forwarded_allow_ips="*",
        access_log=False,
        log_config=None,
        ws_max_size=4 * 1024 * 1024,
        timeout_graceful_shutdown=25,
    )


def _migrate(settings: Settings) -> None:
    from console import migrate

    owner_url = settings.migrations_database_url or settings.database_url
    migrate.upgrade(owner_url)
    role = asyncio.run(migrate.grant_app_role(owner_url, settings.database_url))
    typer.echo("Database is at the latest revision." + (f" Granted {role}." if role else ""))


async def _in_system_session(fn):
    from console.db import Database

    settings = get_settings()
    db = Database(settings.migrations_database_url or settings.database_url, pool_size=1)
    try:
        async with db.system_session() as session:
            return await fn(session)
    finally:
        await db.dispose()


@app.command()
def run(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Everything on embedded defaults: migrate, seed the demo tenant, serve, and run jobs in
    this process (unless CONSOLE_EMBEDDED_WORKER=false)."""
    settings = _settings()
    _migrate(settings)
    if settings.seed_demo:
        from console.seed import seed_demo

        if asyncio.run(_in_system_session(lambda db: seed_demo(db, settings))):
            typer.echo("Seeded the demo tenant 'demo'.")
    worker = None
    if settings.embedded_worker:
        from workers.embedded import start_embedded_worker

        worker = start_embedded_worker(settings)
        typer.echo(
            f"Job worker running in this process ({settings.worker_concurrency} slots, "
            f"broker {settings.broker_url})."
        )
    typer.echo(
        f"Console on http://{host}:{port}  (dashboard {settings.flet_web_app_path}/, "
        "API docs /api/docs)"
    )
    try:
        _serve(host, port)
    finally:
        if worker is not None:
            worker.stop()


@app.command()
def serve(host: Host = "0.0.0.0", port: Port = 8000) -> None:  # noqa: S104 - in a container
    """The web process only (production): API, dashboard, health and metrics."""
    _settings()
    _serve(host, port)


@app.command()
def worker() -> None:
    """A job worker (production): queue console.jobs; pool and concurrency from settings."""
    import os

    from console.kit.logging import configure_logging
    from workers.app import QUEUE, create_celery_app

    settings = _settings()
    configure_logging(settings.log_level, settings.json_logs)
    celery_app = create_celery_app(settings)
    celery_app.worker_main(
        [
            "worker",
            f"--pool={settings.worker_pool}",
            f"--concurrency={settings.worker_concurrency}",
            f"--queues={QUEUE}",
            f"--loglevel={settings.log_level}",
            f"--hostname=console-{os.getpid()}@%h",
            # Workers need not know each other: fairness and recovery live in the job rows.
            "--without-mingle",
            "--without-gossip",
        ]
    )


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest revision (and grant the app role on PostgreSQL)."""
    _migrate(get_settings())


@tenants_app.command("create")
def tenants_create(
    slug: str,
    name: str,
    admin_email: Annotated[str, typer.Option(help="First admin.")],
    oidc_issuer: Annotated[str | None, typer.Option(help="The tenant's OpenID provider.")] = None,
    oidc_client_id: Annotated[str | None, typer.Option()] = None,
    oidc_client_secret: Annotated[
        str | None, typer.Option(envvar="CONSOLE_NEW_TENANT_OIDC_CLIENT_SECRET")
    ] = None,
) -> None:
    """Create a tenant with its first admin (and how its users sign in)."""
    from pydantic import ValidationError

    from console.identity.providers import default_tenant_provider
    from console.identity.signin_schemas import IdentityProviderUpdate
    from console.kit.crypto import SecretBox
    from console.kit.errors import ConsoleError
    from console.platform import service
    from console.platform.schemas import PlatformTenantCreate

    settings = get_settings()
    try:
        provider = (
            IdentityProviderUpdate(
                issuer=oidc_issuer,
                client_id=oidc_client_id or "",
                client_secret=oidc_client_secret,
            )
            if oidc_issuer
            else None
        )
        data = PlatformTenantCreate(
            slug=slug, name=name, admin_email=admin_email, identity_provider=provider
        )
        view = asyncio.run(
            _in_system_session(
                lambda db: service.create_tenant(
                    db,
                    None,
                    data,
                    box=SecretBox(settings.secret_key.get_secret_value()),
                    default_provider=default_tenant_provider(settings),
                )
            )
        )
    except (ValidationError, ConsoleError) as exc:
        typer.secho(f"Cannot create tenant: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Created tenant {view.slug} ({view.id}); admin {admin_email}.")


@tenants_app.command("list")
def tenants_list() -> None:
    """Every tenant with status and counts."""
    from console.platform import service

    async def fetch(db):
        return await service.list_tenants(db, q=None, status=None, limit=10_000, offset=0)

    tenants, _ = asyncio.run(_in_system_session(fetch))
    for t in tenants:
        typer.echo(
            f"{t.slug:30} {t.status:10} members={t.member_count:<5} "
            f"projects={t.project_count:<7} {t.name}"
        )


def _set_suspended(slug: str, suspended: bool, reason: str = "") -> None:
    from console.platform import service
    from console.tenancy import repository

    async def change(db):
        tenant = await repository.tenant_by_slug(db, slug)
        if tenant is None:
            return None
        return await service.set_suspended(db, None, tenant.id, suspended, reason)

    if asyncio.run(_in_system_session(change)) is None:
        typer.secho(f"No tenant '{slug}'.", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"Tenant {slug} is now {'suspended' if suspended else 'active'}.")


@tenants_app.command("suspend")
def tenants_suspend(slug: str, reason: Annotated[str, typer.Option()] = "") -> None:
    """Suspend a tenant: its API answers 403 until resumed."""
    _set_suspended(slug, True, reason)


@tenants_app.command("resume")
def tenants_resume(slug: str) -> None:
    """Resume a suspended tenant."""
    _set_suspended(slug, False)


@users_app.command("make-operator")
def users_make_operator(email: str) -> None:
    """Make a user (created if unknown) a platform operator."""
    from console.identity import repository
    from console.identity.models import User

    async def promote(db):
        user = await repository.user_by_email(db, email)
        if user is None:
            user = User(email=email.lower(), name="")
            db.add(user)
        user.is_operator = True

    asyncio.run(_in_system_session(promote))
    typer.echo(f"{email} is a platform operator.")


@tokens_app.command("create")
def tokens_create(
    tenant: str,
    email: Annotated[str, typer.Option(help="The member the token acts for.")],
    name: Annotated[str, typer.Option()] = "cli",
    role: Annotated[
        str, typer.Option(help="viewer, member or admin (capped by the member's role).")
    ] = "viewer",
    days: Annotated[int, typer.Option(help="Expiry in days; 0 for none.")] = 90,
) -> None:
    """Create an API token for a member (prints the secret once)."""
    from console.db import utcnow
    from console.identity import repository as identity_repo
    from console.identity import service
    from console.identity.principal import Principal
    from console.kit.errors import ConsoleError
    from console.tenancy import repository as tenancy_repo
    from console.tenancy.context import TenantContext
    from console.tenancy.roles import Role

    async def create(db):
        user = await identity_repo.user_by_email(db, email)
        found = await tenancy_repo.tenant_by_slug(db, tenant)
        if user is None or found is None:
            raise ConsoleError(f"No user {email} or no tenant {tenant}.")
        row = await tenancy_repo.enter_tenant(db, tenant, user.id)
        if row is None or row.role is None:
            raise ConsoleError(f"{email} is not a member of {tenant}.")
        principal = Principal(
            user_id=user.id,
            email=user.email,
            name=user.name,
            is_operator=user.is_operator,
            via="session",
        )
        ctx = TenantContext(
            tenant_id=row.id,
            tenant_slug=row.slug,
            tenant_name=row.name,
            role=Role(row.role),
            principal=principal,
        )
        expires = utcnow() + timedelta(days=days) if days > 0 else None
        secret, _ = await service.create_api_token(db, ctx, name, Role(role), expires)
        return secret

    try:
        secret = asyncio.run(_in_system_session(create))
    except (ConsoleError, ValueError) as exc:
        typer.secho(f"Cannot create token: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(secret)


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
