"""Mapping points to grid cells from a file's own coordinate variables.

The product grid is regular (0.05 deg, 3201 x 3201 for MSG-Disk) with ``lat`` stored north to
south (decreasing) and ``lon`` west to east (increasing); the code accepts either direction on
both axes. A point maps to the **nearest cell centre** on each axis independently; a point
exactly half-way between two centres takes the first of the two in storage order (the northern
one for a north-to-south ``lat``, the western one for ``lon``). A point further than half a cell
outside the outermost centres is outside the grid: :class:`PointOutsideGridError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spark_jobs.satellite.points import Point


class PointOutsideGridError(ValueError):
    """A catalogue point is not covered by a file's grid (names the point and the file)."""


@dataclass(frozen=True)
class Grid:
    """A file's coordinates: ``lat`` (degrees north) and ``lon`` (degrees east), 1-D, monotonic."""

    lat: np.ndarray
    lon: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.lat), len(self.lon))

    def fingerprint(self) -> str:
        """Identifies the grid exactly: equal fingerprints mean identical coordinate values."""
        digest = hashlib.sha256()
        for axis in (self.lat, self.lon):
            values = np.ascontiguousarray(axis, dtype=np.float64)
            digest.update(str(values.shape).encode())
            digest.update(values.tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> str:
        return (
            f"lat {self.lat[0]:g}..{self.lat[-1]:g} ({len(self.lat)}), "
            f"lon {self.lon[0]:g}..{self.lon[-1]:g} ({len(self.lon)})"
        )


def _nearest(axis: np.ndarray, value: float) -> int | None:
    """Index of the cell centre nearest ``value`` (first in storage order on a tie), or None
    when ``value`` lies more than half a cell beyond the outermost centres."""
    if len(axis) == 0:
        return None
    half_cell = abs(float(axis[1] - axis[0])) / 2 if len(axis) > 1 else 0.0
    low, high = float(min(axis[0], axis[-1])), float(max(axis[0], axis[-1]))
    if value < low - half_cell or value > high + half_cell:
        return None
    return int(np.argmin(np.abs(axis.astype(np.float64) - value)))


def locate(points: Sequence[Point], grid: Grid, file_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Row (lat) and column (lon) index of each point, in the order of ``points``.

    Raises :class:`PointOutsideGridError` naming the file, every point outside and the grid.
    """
    rows, cols, outside = [], [], []
    for point in points:
        row, col = _nearest(grid.lat, point.lat), _nearest(grid.lon, point.lon)
        if row is None or col is None:
            outside.append(f"{point.site_id} (lat {point.lat}, lon {point.lon})")
            continue
        rows.append(row)
        cols.append(col)
    if outside:
        raise PointOutsideGridError(
            f"{file_name}: point(s) outside the grid ({grid.describe()}): {', '.join(outside)}. "
            "Fix the points catalogue (include/satellite/points.yaml) or the input files."
        )
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
