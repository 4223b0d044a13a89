"""Sample files shaped like the LSA SAF MDSSFTD product, with values known at every cell.

Local only (tests, demo, benchmarks); never shipped. Files are written with the netCDF4 library
like the product: dims ``(time=1, lat, lon)``, ``lat`` north to south, int16 ``DSSF_TOT``,
``FRACTION_DIFFUSE`` and ``quality_flag`` with ``scale_factor`` / ``add_offset`` / ``_FillValue``,
global ``time_coverage_start``, named ``NETCDF4_LSASAF_MSG_MDSSFTD_MSG-Disk_YYYYMMDDHHMM.nc`` in
``YYYY/MM/DD`` folders.

Grids: ``REAL_GRID`` is the product's 3201 x 3201 at 0.05 deg (lat 80 -> -80, lon -80 -> 80),
``SMALL_GRID`` the same extent at 1 deg (161 x 161), so catalogue points map on both.

Packed values are a known function of (cell, slot): :func:`raw_value`; :func:`expected_value`
is what a correct extraction returns (``None`` for fill cells).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from spark_jobs.satellite import product

FILL = -1


@dataclass(frozen=True)
class SampleGrid:
    """A regular grid: ``n`` cells per axis, ``step`` degrees, lat from ``north`` down, lon from ``west`` up."""

    n: int
    step: float
    north: float = 80.0
    west: float = -80.0

    @property
    def lat(self) -> np.ndarray:
        return np.round(self.north - self.step * np.arange(self.n), 6)

    @property
    def lon(self) -> np.ndarray:
        return np.round(self.west + self.step * np.arange(self.n), 6)

    def cell(self, lat: float, lon: float) -> tuple[int, int]:
        """Nearest cell (row, col) of a point inside the grid (ties: north / west)."""
        return int(np.argmin(np.abs(self.lat - lat))), int(np.argmin(np.abs(self.lon - lon)))


REAL_GRID = SampleGrid(n=3201, step=0.05)
SMALL_GRID = SampleGrid(n=161, step=1.0)


@dataclass(frozen=True)
class Encoding:
    """CF packing of the two scaled variables (``quality_flag`` is never scaled)."""

    scale: Mapping[str, float] = field(
        default_factory=lambda: {product.DSSF_TOT: 0.1, product.FRACTION_DIFFUSE: 0.0001}
    )
    offset: Mapping[str, float] = field(
        default_factory=lambda: {product.DSSF_TOT: 0.0, product.FRACTION_DIFFUSE: 0.0}
    )


DEFAULT_ENCODING = Encoding()


def _slot_number(slot: datetime) -> int:
    """Quarter hours since 2000-01-01 (makes every slot of every day distinct)."""
    return int((slot - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() // 900)


def raw_value(variable: str, row: np.ndarray | int, col: np.ndarray | int, slot: datetime) -> np.ndarray:
    """Packed int16 value of ``variable`` at cells (row, col) and ``slot``; ``FILL`` on fill cells.

    DSSF_TOT (x0.1 W/m2) follows a daylight arch from 06:00 to 18:00 UTC whose peak (800..1499.9
    W/m2) depends on the cell and the day, and is a true 0 at night; FRACTION_DIFFUSE (x0.0001)
    is 0.2..1.0 varying by cell and slot; quality_flag is 0..7. DSSF_TOT is fill on 1 cell-slot
    in 23, FRACTION_DIFFUSE on 1 in 19 (other cells).
    """
    s = _slot_number(slot)
    row, col = np.asarray(row, dtype=np.int64), np.asarray(col, dtype=np.int64)
    if variable == product.DSSF_TOT:
        peak = 8000 + (3 * row + 5 * col + 11 * (s // 96)) % 7000
        minutes = (s % 96) * 15
        daylight = max(0.0, float(np.sin(np.pi * (minutes - 360) / 720)))
        value = np.rint(peak * daylight).astype(np.int64)
        fill = (row + 2 * col + s) % 23 == 0
    elif variable == product.FRACTION_DIFFUSE:
        value = 2000 + (2 * row + 3 * col + 7 * s) % 8001
        fill = (2 * row + col + s) % 19 == 0
    else:
        value = (row + col + s) % 8
        fill = np.zeros(np.broadcast(row, col).shape, dtype=bool)
    return np.where(fill, FILL, value).astype(np.int16)


def expected_value(
    variable: str, row: int, col: int, slot: datetime, encoding: Encoding = DEFAULT_ENCODING
) -> float | int | None:
    """What a correct extraction returns for one cell and slot (``None`` for fill)."""
    raw = int(raw_value(variable, row, col, slot))
    if raw == FILL:
        return None
    if variable == product.QUALITY_FLAG:
        return raw
    return raw * encoding.scale[variable] + encoding.offset[variable]


def write_file(
    path: Path,
    slot: datetime,
    grid: SampleGrid = SMALL_GRID,
    encoding: Encoding = DEFAULT_ENCODING,
    chunks: Sequence[int] | None = (1, 64, 64),
    zlib: bool = True,
    variables: Iterable[str] = product.VARIABLES,
    time_coverage_start: str | None = None,
) -> Path:
    """Write one product file for ``slot``; ``chunks=None`` stores the variables contiguous
    (uncompressed). ``variables`` / ``time_coverage_start`` let tests build broken files."""
    import netCDF4

    path.parent.mkdir(parents=True, exist_ok=True)
    rows, cols = np.meshgrid(np.arange(grid.n), np.arange(grid.n), indexing="ij")
    tmp = path.with_name(f".{path.name}.tmp")
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.createDimension("time", 1)
        nc.createDimension(product.LAT, grid.n)
        nc.createDimension(product.LON, grid.n)
        nc.time_coverage_start = time_coverage_start or f"{slot:%Y-%m-%dT%H:%M:%S}Z"
        nc.time_coverage_end = f"{slot:%Y-%m-%dT%H:%M:%S}Z"
        nc.platform = "MSG"
        time = nc.createVariable("time", "f8", ("time",))
        time.units = "minutes since 2000-01-01 00:00:00"
        time[:] = [_slot_number(slot) * 15]
        for name, values, units in (
            (product.LAT, grid.lat, "degrees_north"),
            (product.LON, grid.lon, "degrees_east"),
        ):
            axis = nc.createVariable(name, "f4", (name,))
            axis.units = units
            axis[:] = values
        for name in variables:
            storage = (
                {"chunksizes": tuple(chunks), "zlib": zlib, "shuffle": zlib}
                if chunks
                else {"contiguous": True}
            )
            var = nc.createVariable(
                name, "i2", ("time", product.LAT, product.LON), fill_value=FILL, **storage
            )
            var.set_auto_maskandscale(False)
            if name != product.QUALITY_FLAG:
                var.scale_factor = np.float64(encoding.scale[name])
                var.add_offset = np.float64(encoding.offset[name])
            var[0, :, :] = raw_value(name, rows, cols, slot)
    tmp.replace(path)
    return path


def day_files(root: Path, day: date, slots: Iterable[int] | None = None, **options: object) -> list[Path]:
    """Write the day's product files under ``root/YYYY/MM/DD/`` (``slots``: slot indexes 0..95,
    default all 96); ``options`` go to :func:`write_file`. Returns the paths."""
    all_slots = product.day_slots(day)
    chosen = range(len(all_slots)) if slots is None else slots
    folder = root / product.day_folder(day)
    return [write_file(folder / product.file_name(all_slots[i]), all_slots[i], **options) for i in chosen]  # type: ignore[arg-type]
