"""Read the catalogue points of one product file, touching only the HDF5 chunks that hold them.

A netCDF4 file is an HDF5 file. For each variable the reader reads only the chunks holding
points (:func:`read_cells`): with the product's deflate/shuffle encodings it fetches each touched
chunk's stored bytes (``read_direct_chunk``) and inflates it once; any other layout (contiguous,
other filters, any chunk shape) goes through one HDF5 element-selection read, which also touches
only the needed chunks or cells. Nothing else of the 3201 x 3201 slices is read. Decoding follows CF: cells equal to
``_FillValue`` / ``missing_value`` or outside ``valid_min`` / ``valid_max`` / ``valid_range`` are
null (never zero); the rest are ``raw * scale_factor + add_offset`` as float64 (the attributes at
the decimal value they were written with: a float32 ``0.1`` is 0.1, not 0.10000000149).

The HDF5 library is not thread-safe: call this from separate processes (Spark Python workers),
never from threads of one process. Every failure is a :class:`BadFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from spark_jobs.satellite import product
from spark_jobs.satellite.grid import Grid

CHUNK_CACHE_BYTES = 32 << 20  # HDF5 raw-data chunk cache per open file
S3_BLOCK_BYTES = 1 << 20  # range-request size when reading from S3 (metadata + touched chunks)

# What the HDF5 library, h5py and the chunk decoding raise for a broken file.
READ_ERRORS = (OSError, KeyError, ValueError, RuntimeError, IndexError, zlib.error)

# Kinds of bad files; each maps to a policy action (see spark_jobs.satellite.policy).
UNREADABLE = "unreadable"  # not HDF5, truncated, corrupt chunk, I/O error
MISSING_VARIABLE = "missing_variable"
BAD_SHAPE = "bad_shape"  # a variable is not (time=1, lat, lon) on the file's own grid
BAD_TIME = "bad_time"  # time_coverage_start missing, unparsable, or not the slot of the name
GRID_CHANGED = "grid_changed"  # coordinates differ from the reference grid
LAYOUT_CHANGED = "layout_changed"  # chunking / compression differ from the reference layout


class BadFileError(Exception):
    """A product file that cannot be used as it is; ``kind`` is one of the constants above."""

    def __init__(self, kind: str, file: str, message: str) -> None:
        super().__init__(f"{file}: {kind}: {message}")
        self.kind = kind
        self.file = file
        self.message = message


@dataclass(frozen=True)
class Reference:
    """What every file of the series must match: the grid and (for reporting) the storage layout."""

    grid_fingerprint: str
    grid_description: str
    rows: tuple[int, ...]  # per catalogue point, row (lat) index
    cols: tuple[int, ...]  # per catalogue point, column (lon) index
    layout: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PointValues:
    """One file's values at the catalogue points (arrays in catalogue order, ``None`` = null)."""

    file: str
    obs_time: datetime
    dssf_tot: list[float | None]
    fraction_diffuse: list[float | None]
    quality_flag: list[int | None]
    layout: Mapping[str, str]


def _decimal_attribute(value: Any) -> float:
    """A CF attribute as the decimal number it was written as (float32 0.1 -> 0.1)."""
    scalar = np.asarray(value).reshape(-1)[0]
    if isinstance(scalar, np.floating):
        return float(np.format_float_positional(scalar, unique=True, trim="-"))
    return float(scalar)


def _invalid_mask(raw: np.ndarray, attrs: Mapping[str, Any]) -> np.ndarray:
    invalid = np.zeros(raw.shape, dtype=bool)
    for name in ("_FillValue", "missing_value"):
        if name in attrs:
            for marker in np.asarray(attrs[name]).reshape(-1):
                invalid |= raw == marker
    if "valid_range" in attrs:
        low, high = np.asarray(attrs["valid_range"]).reshape(-1)[:2]
        invalid |= (raw < low) | (raw > high)
    if "valid_min" in attrs:
        invalid |= raw < np.asarray(attrs["valid_min"]).reshape(-1)[0]
    if "valid_max" in attrs:
        invalid |= raw > np.asarray(attrs["valid_max"]).reshape(-1)[0]
    return invalid


def decode(raw: np.ndarray, attrs: Mapping[str, Any], scaled: bool) -> list[Any]:
    """CF decoding of packed values: ``None`` where invalid, else ``raw * scale + offset``."""
    invalid = _invalid_mask(raw, attrs)
    if scaled:
        scale = _decimal_attribute(attrs["scale_factor"]) if "scale_factor" in attrs else 1.0
        offset = _decimal_attribute(attrs["add_offset"]) if "add_offset" in attrs else 0.0
        values: list[Any] = (raw.astype(np.float64) * scale + offset).tolist()
    else:
        values = raw.astype(np.int64).tolist()
    return [None if bad else value for value, bad in zip(values, invalid.tolist(), strict=True)]


def layout_of(dataset: Any) -> str:
    """``chunks=(1, 400, 400) gzip:6 shuffle`` / ``contiguous``: how a variable is stored."""
    parts = [f"chunks={tuple(dataset.chunks)}" if dataset.chunks else "contiguous"]
    if dataset.compression:
        parts.append(f"{dataset.compression}:{dataset.compression_opts}")
    if dataset.shuffle:
        parts.append("shuffle")
    parts.append(str(dataset.dtype))
    return " ".join(parts)


@contextlib.contextmanager
def open_product(uri: str) -> Iterator[Any]:
    """The file as an ``h5py.File``: a local path directly, S3 objects through an fsspec file
    object (range requests; nothing is copied to local disk)."""
    import h5py

    from spark_jobs.common.lake import filesystem, is_s3, local_path, normalize_uri

    uri = normalize_uri(uri)
    if not is_s3(uri):
        with h5py.File(local_path(uri), "r", rdcc_nbytes=CHUNK_CACHE_BYTES) as handle:
            yield handle
        return
    fs, path = filesystem(uri)
    with (
        fs.open(path, "rb", block_size=S3_BLOCK_BYTES, cache_type="blockcache") as raw,
        h5py.File(raw, "r", rdcc_nbytes=CHUNK_CACHE_BYTES) as handle,
    ):
        yield handle


def read_grid(handle: Any, file: str) -> Grid:
    """The file's own ``lat`` / ``lon`` coordinate variables."""
    try:
        lat, lon = handle[product.LAT][...], handle[product.LON][...]
    except KeyError as exc:
        raise BadFileError(MISSING_VARIABLE, file, f"no coordinate variable {exc}") from None
    if lat.ndim != 1 or lon.ndim != 1 or len(lat) < 2 or len(lon) < 2:
        raise BadFileError(BAD_SHAPE, file, f"lat {lat.shape} / lon {lon.shape} are not 1-D axes")
    return Grid(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))


def read_layout(handle: Any, file: str) -> dict[str, str]:
    return {name: layout_of(_variable(handle, name, file)) for name in product.VARIABLES}


def _variable(handle: Any, name: str, file: str) -> Any:
    if name not in handle:
        raise BadFileError(MISSING_VARIABLE, file, f"variable {name} is missing")
    return handle[name]


_DEFLATE, _SHUFFLE = 1, 2  # HDF5 filter ids (H5Z_FILTER_DEFLATE, H5Z_FILTER_SHUFFLE)


def _direct_filters(dataset: Any) -> list[int] | None:
    """The filter pipeline (write order) when the direct chunk path can undo it, else ``None``:
    deflate steps, optionally preceded by one shuffle (the netCDF4 encodings)."""
    if not dataset.chunks or dataset.chunks[0] != 1:
        return None
    plist = dataset.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if any(f != _DEFLATE for f in filters[1:]) or (filters and filters[0] not in (_DEFLATE, _SHUFFLE)):
        return None
    return filters


def _chunk_cells(
    dataset: Any, offset: tuple[int, int, int], filters: list[int], flat: np.ndarray
) -> np.ndarray:
    """Values at ``flat`` positions (row-major in the full chunk) of one stored chunk, which is
    inflated once; only those cells are un-shuffled. Fill value when the chunk was never written."""
    if dataset.id.get_chunk_info_by_coord(offset).byte_offset is None:
        return np.full(len(flat), dataset.fillvalue, dtype=dataset.dtype)
    mask, data = dataset.id.read_direct_chunk(offset)
    for position in range(len(filters) - 1, -1, -1):
        if filters[position] == _DEFLATE and not mask & (1 << position):
            data = zlib.decompress(data)
    raw = np.frombuffer(data, dtype=np.uint8)
    size = dataset.dtype.itemsize
    if filters and filters[0] == _SHUFFLE and not mask & 1:
        # shuffled: byte k of every value is stored in plane k (planes of len(raw) // size bytes)
        cells = raw[np.arange(size)[None, :] * (len(raw) // size) + flat[:, None]]
    else:
        cells = raw[flat[:, None] * size + np.arange(size)[None, :]]
    return np.ascontiguousarray(cells).view(dataset.dtype).reshape(-1)


def read_cells(dataset: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Raw values of ``dataset[0, rows[k], cols[k]]``, decompressing only the chunks they lie in.

    Chunked deflate/shuffle variables (the product's encodings): each touched chunk is read with
    ``read_direct_chunk`` and inflated once, by this process. Any other layout (contiguous, other
    filters): one HDF5 element-selection read, which also touches only the needed chunks/cells.
    """
    filters = _direct_filters(dataset)
    if filters is None:
        return _read_elements(dataset, rows, cols)
    chunk_rows, chunk_cols = dataset.chunks[1:]
    out = np.empty(len(rows), dtype=dataset.dtype)
    keys = (rows // chunk_rows) * (dataset.shape[2] // chunk_cols + 1) + cols // chunk_cols
    for key in np.unique(keys):
        members = np.flatnonzero(keys == key)
        top = int(rows[members[0]] // chunk_rows) * chunk_rows
        left = int(cols[members[0]] // chunk_cols) * chunk_cols
        flat = (rows[members] - top) * chunk_cols + (cols[members] - left)
        out[members] = _chunk_cells(dataset, (0, top, left), filters, flat)
    return out


def _read_elements(dataset: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One element-selection read of the (unique) cells."""
    import h5py

    linear = rows * dataset.shape[2] + cols
    unique, inverse = np.unique(linear, return_inverse=True)
    coords = np.zeros((len(unique), 3), dtype=np.uint64)
    coords[:, 1], coords[:, 2] = np.divmod(unique, dataset.shape[2])
    file_space = dataset.id.get_space()
    file_space.select_elements(coords)
    memory_space = h5py.h5s.create_simple((len(unique),))
    out = np.empty(len(unique), dtype=dataset.dtype)
    dataset.id.read(memory_space, file_space, out)
    return out[inverse]


def _obs_time(handle: Any, file: str) -> datetime:
    if product.TIME_ATTRIBUTE not in handle.attrs:
        raise BadFileError(BAD_TIME, file, f"global attribute {product.TIME_ATTRIBUTE} is missing")
    value = handle.attrs[product.TIME_ATTRIBUTE]
    try:
        obs_time = product.parse_coverage_start(value)
    except (ValueError, TypeError):
        raise BadFileError(BAD_TIME, file, f"{product.TIME_ATTRIBUTE}={value!r} is not ISO 8601") from None
    slot = product.slot_of_name(file)
    if slot is not None and slot != obs_time:
        raise BadFileError(
            BAD_TIME,
            file,
            f"{product.TIME_ATTRIBUTE}={obs_time:%Y-%m-%dT%H:%M}Z is not the slot of the file name "
            f"({slot:%Y-%m-%dT%H:%M}Z)",
        )
    return obs_time


def read_points(uri: str, reference: Reference, check_layout: bool = True) -> PointValues:
    """The catalogue points' values in ``uri``; raises :class:`BadFileError`.

    The file's own coordinates must equal the reference grid (the points' cells were computed on
    it); with ``check_layout`` a storage layout other than the reference's raises
    ``layout_changed`` (the values would still be right: the caller's policy decides).
    """
    try:
        with open_product(uri) as handle:
            grid = read_grid(handle, uri)
            if grid.fingerprint() != reference.grid_fingerprint:
                raise BadFileError(
                    GRID_CHANGED,
                    uri,
                    f"grid {grid.describe()} differs from the reference grid {reference.grid_description}",
                )
            obs_time = _obs_time(handle, uri)
            layout = read_layout(handle, uri)
            if check_layout and reference.layout and layout != dict(reference.layout):
                changed = {k: v for k, v in layout.items() if reference.layout.get(k) != v}
                raise BadFileError(LAYOUT_CHANGED, uri, f"storage layout changed: {changed}")
            rows, cols = np.asarray(reference.rows), np.asarray(reference.cols)
            decoded: dict[str, list[Any]] = {}
            for name in product.VARIABLES:
                dataset = _variable(handle, name, uri)
                if dataset.ndim != 3 or dataset.shape != (1, *grid.shape):
                    raise BadFileError(
                        BAD_SHAPE,
                        uri,
                        f"{name} has shape {dataset.shape}, expected (1, {grid.shape[0]}, {grid.shape[1]})",
                    )
                raw = read_cells(dataset, rows, cols)
                decoded[name] = decode(raw, dataset.attrs, scaled=name in product.SCALED_VARIABLES)
    except BadFileError:
        raise
    except READ_ERRORS as exc:
        raise BadFileError(UNREADABLE, uri, f"{type(exc).__name__}: {exc}") from None
    return PointValues(
        file=uri,
        obs_time=obs_time,
        dssf_tot=decoded[product.DSSF_TOT],
        fraction_diffuse=decoded[product.FRACTION_DIFFUSE],
        quality_flag=decoded[product.QUALITY_FLAG],
        layout=layout,
    )
