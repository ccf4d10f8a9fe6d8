"""Uploads: a signed, expiring, single-use URL; the bytes are streamed to a temp file with the
size limit enforced as they arrive, and renamed into place only when whole."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record
from console.db import utcnow
from console.jobs.files import upload_path
from console.jobs.links import upload_signer
from console.jobs.schemas import UploadCreate, UploadReceipt, UploadTicket
from console.kit.errors import Conflict, Forbidden, Gone, NotFound, PayloadTooLarge
from console.settings import Settings
from console.tenancy.context import TenantContext

API_PREFIX = "/api/v1"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the limit of {limit:,} bytes.", max_bytes=limit
    )


def meta_path(settings: Settings, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> Path:
    """What the upload's receipt recorded (file name, size, checksum, who uploaded it)."""
    return upload_path(settings, tenant_id, upload_id).with_suffix(".json")


async def create_ticket(
    db: AsyncSession, ctx: TenantContext, settings: Settings, data: UploadCreate
) -> UploadTicket:
    limit = settings.upload_max_bytes
    if data.size > limit:
        raise _too_large(limit)
    upload_id = uuid.uuid4()
    expires_at = (utcnow() + timedelta(seconds=settings.upload_link_seconds)).replace(microsecond=0)
    token = upload_signer(settings.secret_key.get_secret_value()).dumps(
        {
            "t": str(ctx.tenant_id),
            "u": str(ctx.user_id),
            "i": str(upload_id),
            "m": limit,
            "e": int(expires_at.timestamp()),
            "f": data.filename,
        }
    )
    record(
        db,
        ctx,
        "upload.created",
        "upload",
        upload_id,
        {"filename": data.filename, "size": data.size},
    )
    return UploadTicket(
        upload_id=upload_id,
        upload_url=f"{API_PREFIX}/uploads/{upload_id}?token={token}",
        expires_at=expires_at,
        max_bytes=limit,
    )


INVALID_LINK = "This upload link is not valid; ask for a new one."


def _read_token(settings: Settings, upload_id: uuid.UUID, token: str) -> dict[str, Any]:
    payload = upload_signer(settings.secret_key.get_secret_value()).loads(token)
    if payload is None or payload.get("i") != str(upload_id):
        raise Forbidden(INVALID_LINK)
    try:
        ticket = {
            **payload,
            "tenant_id": uuid.UUID(str(payload["t"])),
            "user_id": uuid.UUID(str(payload["u"])),
            "m": int(payload["m"]),  # type: ignore[call-overload]
            "e": int(payload["e"]),  # type: ignore[call-overload]
        }
    except (KeyError, ValueError, TypeError) as exc:
        raise Forbidden(INVALID_LINK) from exc
    if datetime.now(UTC).timestamp() > ticket["e"]:
        raise Gone("This upload link has expired; start the upload again.")
    return ticket


async def receive(
    settings: Settings,
    upload_id: uuid.UUID,
    token: str,
    body: AsyncIterator[bytes],
    content_length: int | None,
) -> UploadReceipt:
    """Store the PUT's body as the upload; the signed token alone authorizes it."""
    ticket = _read_token(settings, upload_id, token)
    limit = int(ticket["m"])
    target = upload_path(settings, ticket["tenant_id"], upload_id)
    if target.exists():
        raise Conflict("This file was already uploaded; start a new upload to send another.")
    if content_length is not None and content_length > limit:
        raise _too_large(limit)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{upload_id}.{uuid.uuid4().hex}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        async with await anyio.open_file(temp, "wb") as handle:
            async for chunk in body:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                digest.update(chunk)
                await handle.write(chunk)
            await anyio.to_thread.run_sync(_flush, handle.wrapped)
        receipt = UploadReceipt(upload_id=upload_id, size=size, sha256=digest.hexdigest())
        await anyio.to_thread.run_sync(_publish, settings, ticket, temp, target, receipt)
    finally:
        temp.unlink(missing_ok=True)
    return receipt


def _flush(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _publish(
    settings: Settings, ticket: dict[str, Any], temp: Path, target: Path, receipt: UploadReceipt
) -> None:
    """Link the complete temp file into place; a concurrent or earlier upload wins (409)."""
    meta = {
        "filename": ticket.get("f") or f"{receipt.upload_id}.csv",
        "size": receipt.size,
        "sha256": receipt.sha256,
        "uploaded_by": str(ticket["user_id"]),
        "uploaded_at": utcnow().isoformat(),
    }
    meta_file = meta_path(settings, ticket["tenant_id"], receipt.upload_id)
    try:
        os.link(temp, target)
    except FileExistsError as exc:
        raise Conflict(
            "This file was already uploaded; start a new upload to send another."
        ) from exc
    meta_temp = meta_file.with_name(f".{meta_file.name}.{uuid.uuid4().hex}.part")
    meta_temp.write_bytes(orjson.dumps(meta))
    os.replace(meta_temp, meta_file)


def completed_upload(
    settings: Settings, ctx: TenantContext, upload_id: uuid.UUID
) -> dict[str, Any]:
    """The receipt of the tenant's completed upload; 404 if the tenant has no such upload."""
    if not upload_path(settings, ctx.tenant_id, upload_id).is_file():
        raise NotFound("No completed upload with this id in this tenant; upload the file first.")
    try:
        meta = orjson.loads(meta_path(settings, ctx.tenant_id, upload_id).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        meta = {}
    return meta if isinstance(meta, dict) else {}
