"""The Home screen's charts (flet-charts), each with a text alternative for screen readers."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import flet as ft
import flet_charts as fch

from console.dashboard.controls.job_status import STATUS_LOOKS

TICKS = 4


def short_date(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def _scale(top: int) -> tuple[int, int]:
    """(step, max) of a y axis with TICKS whole-number steps that fits `top`."""
    step = max(1, math.ceil(top / TICKS))
    return step, step * TICKS


def _y_axis(step: int, top: int) -> fch.ChartAxis:
    return fch.ChartAxis(
        label_size=36,
        labels=[
            fch.ChartAxisLabel(value=v, label=ft.Text(str(v), size=11))
            for v in range(0, top + 1, step)
        ],
    )


def _bar_chart(
    bars: list[tuple[str, int, str, str]], width: int, height: int, semantics: str
) -> ft.Control:
    """Bars of (axis label, value, colour, tooltip) in a box of `width` x `height` that screen
    readers read as `semantics` (the chart's pixels say nothing to them)."""
    step, top = _scale(max((value for _, value, _, _ in bars), default=0))
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=i,
                rods=[
                    fch.BarChartRod(
                        to_y=value,
                        width=min(28, width // (2 * len(bars))),
                        color=color,
                        border_radius=3,
                        tooltip=tip,
                    )
                ],
            )
            for i, (_, value, color, tip) in enumerate(bars)
        ],
        bottom_axis=fch.ChartAxis(
            label_size=28,
            labels=[
                fch.ChartAxisLabel(value=i, label=ft.Text(label, size=11))
                for i, (label, _, _, _) in enumerate(bars)
            ],
        ),
        left_axis=_y_axis(step, top),
        horizontal_grid_lines=fch.ChartGridLines(
            interval=step, color=ft.Colors.OUTLINE_VARIANT, width=1
        ),
        min_y=0,
        max_y=top,
        expand=True,
    )
    return ft.Semantics(
        label=semantics,
        container=True,
        exclude_semantics=True,
        content=ft.Container(chart, width=width, height=height),
    )


def weekly_projects_chart(weeks: list[dict[str, Any]]) -> tuple[ft.Control, str]:
    """The projects-per-week bar chart and the sentence that says the same."""
    days = [date.fromisoformat(w["week_start"]) for w in weeks]
    counts = [int(w["count"]) for w in weeks]
    bars = [
        (
            short_date(day),
            count,
            ft.Colors.PRIMARY,
            f"Week of {short_date(day)}: {count} project{'s' if count != 1 else ''}",
        )
        for day, count in zip(days, counts, strict=True)
    ]
    text = "Projects created per week, oldest first: " + "; ".join(
        f"week of {short_date(day)} {day.year}: {count}"
        for day, count in zip(days, counts, strict=True)
    )
    return _bar_chart(bars, 560, 240, text + "."), text


def jobs_by_status_chart(jobs: dict[str, int]) -> tuple[ft.Control, str]:
    """The jobs-by-status bar chart (each bar in its status colour) and its sentence."""
    bars = [
        (look.label, int(jobs.get(status, 0)), look.color, f"{look.label}: {jobs.get(status, 0)}")
        for status, look in STATUS_LOOKS.items()
    ]
    text = "Jobs by status: " + ", ".join(f"{label.lower()} {n}" for label, n, _, _ in bars)
    return _bar_chart(bars, 400, 240, text + "."), text
