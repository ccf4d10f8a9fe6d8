"""The overview: counts of a tenant's projects, people and jobs, and projects created per week."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from console.db import utcnow
from console.jobs.models import JOB_STATUSES
from console.overview import repository as repo
from console.overview.schemas import JobCounts, Overview, ProjectCounts, WeekCount
from console.tenancy.context import TenantContext

WEEKS = 12


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` ISO weeks, oldest first, this week's last."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def overview(db: AsyncSession, ctx: TenantContext, now: datetime | None = None) -> Overview:
    now = now or utcnow()
    starts = week_starts(now.astimezone(UTC).date())
    edges = [_midnight(day) for day in starts] + [_midnight(starts[-1] + timedelta(weeks=1))]
    active, archived, total, per_week = await repo.project_counts(db, ctx, edges)
    jobs = await repo.job_counts(db, ctx)
    members, pending = await repo.people_counts(db, ctx, now)
    return Overview(
        projects=ProjectCounts(active=active, archived=archived, total=total),
        members=members,
        pending_invitations=pending,
        jobs=JobCounts(**{status: jobs.get(status, 0) for status in JOB_STATUSES}),
        projects_per_week=[
            WeekCount(week_start=day, count=count)
            for day, count in zip(starts, per_week, strict=True)
        ],
    )
