"""Shared by the satellite tests: the test day and the test points catalogue."""

from __future__ import annotations

from datetime import date

from spark_jobs.satellite.points import Point

DAY = date(2018, 3, 20)
# fixture points (not the product catalogue): a mid-grid cell, two near corners, one shared cell
POINTS = (
    Point("site-a", "A", 37.39, -5.98),
    Point("site-b", "B", 79.6, -79.6),
    Point("site-c", "C", -79.6, 79.6),
    Point("site-d", "D", 37.41, -6.02),  # same 1-degree cell as site-a
)


def points_yaml(points: tuple[Point, ...] = POINTS) -> str:
    lines = ["points:"]
    lines += [f"  - {{site_id: {p.site_id}, name: {p.name}, lat: {p.lat}, lon: {p.lon}}}" for p in points]
    return "\n".join(lines) + "\n"
