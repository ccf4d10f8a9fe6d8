"""Overview route (thin: the service computes)."""

from __future__ import annotations

from fastapi import APIRouter

from console.deps import DbSession
from console.overview import service
from console.overview.schemas import Overview
from console.tenancy.deps import TenantViewer

router = APIRouter(prefix="/tenants/{tenant}/overview", tags=["overview"])


@router.get("", response_model=Overview)
async def get_overview(ctx: TenantViewer, db: DbSession) -> Overview:
    """The tenant at a glance: project, member, invitation and job counts, and projects created
    per week over the last 12 weeks."""
    return await service.overview(db, ctx)
