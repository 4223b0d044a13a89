"""The reference grid of a series: recorded from the first good file ever read, then every file
of every later run must have exactly these coordinates (else ``grid_changed``).

``<lake>/_state/satellite/<table>/reference.json`` keeps the coordinate values, the storage layout
and the file they came from. To accept a new product grid on purpose, delete that file (the
points are then mapped on the new grid; the existing series is not rewritten).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from spark_jobs.common.lake import read_json, write_json_atomic
from spark_jobs.common.logs import log_event
from spark_jobs.satellite.grid import Grid, locate
from spark_jobs.satellite.points import Point
from spark_jobs.satellite.reader import (
    READ_ERRORS,
    BadFileError,
    Reference,
    open_product,
    read_grid,
    read_layout,
)

log = logging.getLogger(__name__)


def _record_from_file(uri: str) -> dict[str, object]:
    try:
        with open_product(uri) as handle:
            grid = read_grid(handle, uri)
            layout = read_layout(handle, uri)
    except BadFileError:
        raise
    except READ_ERRORS as exc:
        raise BadFileError("unreadable", uri, f"{type(exc).__name__}: {exc}") from None
    return {"source_file": uri, "lat": grid.lat.tolist(), "lon": grid.lon.tolist(), "layout": layout}


def establish_reference(
    state_uri: str, candidates: Sequence[str], points: Sequence[Point]
) -> Reference | None:
    """The series' reference with the points located on it.

    Uses the recorded reference, or records one from the first readable candidate file.
    ``None`` when there is no record and no candidate is readable (every file will be reported
    bad). Raises ``PointOutsideGridError`` naming the reference file and the points off the grid.
    """
    record = read_json(state_uri)
    if record is None:
        for uri in candidates:
            try:
                record = _record_from_file(uri)
            except BadFileError as exc:
                log_event(
                    log, "not usable as the reference grid", level=logging.WARNING, file=uri, error=str(exc)
                )
                continue
            write_json_atomic(state_uri, record)
            log_event(log, "reference grid recorded", file=uri, state=state_uri)
            break
    if record is None:
        return None
    grid = Grid(np.asarray(record["lat"], dtype=np.float64), np.asarray(record["lon"], dtype=np.float64))
    rows, cols = locate(points, grid, str(record["source_file"]))
    return Reference(
        grid_fingerprint=grid.fingerprint(),
        grid_description=grid.describe(),
        rows=tuple(int(r) for r in rows),
        cols=tuple(int(c) for c in cols),
        layout=dict(record["layout"]),
    )
