"""Point extraction without Spark: exact values against the generator's function on every
storage layout, CF decoding (scale/offset, fill -> null), the north-to-south grid mapping, and
every kind of bad file under both policies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from data_platform.local.satellite_sample import SMALL_GRID, Encoding, day_files, expected_value, write_file
from spark_jobs.satellite import product
from spark_jobs.satellite.extract import BadFilePolicy, BadFilesFailure, assemble_day, extract_files
from spark_jobs.satellite.grid import Grid, PointOutsideGridError, locate
from spark_jobs.satellite.points import Point, PointsCatalogueError, parse_points
from spark_jobs.satellite.reference import establish_reference
from tests.satellite.satellite_testing import DAY, POINTS

SLOTS = product.day_slots(DAY)


def _reference(tmp_path: Path, files: list[Path], points=POINTS):
    state = tmp_path / "state" / "reference.json"
    return establish_reference(state.as_uri(), [f.as_uri() for f in files], points)


def _extract(tmp_path: Path, files: list[Path], points=POINTS) -> list[dict]:
    reference = _reference(tmp_path, files, points)
    return list(extract_files([f.as_uri() for f in files], reference))


LAYOUTS = {
    "tiles, zlib + shuffle": {"chunks": (1, 64, 64)},
    "tiles, uncompressed": {"chunks": (1, 64, 64), "zlib": False},
    "odd tiles": {"chunks": (1, 50, 33)},
    "whole-slice chunk": {"chunks": (1, 161, 161)},
    "contiguous": {"chunks": None},
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
def test_every_value_equals_the_generator_function_on_any_layout(tmp_path, layout):
    files = day_files(tmp_path / "in", DAY, slots=range(0, 96, 5), **LAYOUTS[layout])
    results = _extract(tmp_path, files)

    assert [r["status"] for r in results] == ["ok"] * len(files)
    for result, index in zip(results, range(0, 96, 5), strict=True):
        slot = SLOTS[index]
        assert result["obs_time"] == slot.isoformat()
        for k, point in enumerate(POINTS):
            row, col = SMALL_GRID.cell(point.lat, point.lon)
            assert result["dssf_tot"][k] == expected_value(product.DSSF_TOT, row, col, slot)
            assert result["fraction_diffuse"][k] == expected_value(product.FRACTION_DIFFUSE, row, col, slot)
            assert result["quality_flag"][k] == expected_value(product.QUALITY_FLAG, row, col, slot)


def test_fill_values_are_null_and_real_zeros_stay_zero(tmp_path):
    files = day_files(tmp_path / "in", DAY)
    results = _extract(tmp_path, files)

    dssf = [v for r in results for v in r["dssf_tot"]]
    fraction = [v for r in results for v in r["fraction_diffuse"]]
    expected_nulls = sum(
        expected_value(product.DSSF_TOT, *SMALL_GRID.cell(p.lat, p.lon), slot) is None
        for slot in SLOTS
        for p in POINTS
    )
    assert expected_nulls > 0 and dssf.count(None) == expected_nulls
    assert None in fraction
    assert 0.0 in dssf  # night: a measured zero is a value, not a null
    assert all(v is None or v >= 0 for v in dssf + fraction)


def test_scale_factor_and_add_offset_are_applied(tmp_path):
    encoding = Encoding(
        scale={product.DSSF_TOT: 0.5, product.FRACTION_DIFFUSE: 0.00005},
        offset={product.DSSF_TOT: 10.0, product.FRACTION_DIFFUSE: 0.25},
    )
    files = day_files(tmp_path / "in", DAY, slots=[30, 48], encoding=encoding)
    results = _extract(tmp_path, files)

    row, col = SMALL_GRID.cell(POINTS[0].lat, POINTS[0].lon)
    for result, index in zip(results, [30, 48], strict=True):
        want = expected_value(product.DSSF_TOT, row, col, SLOTS[index], encoding)
        assert want is not None and result["dssf_tot"][0] == want
        assert result["fraction_diffuse"][0] == expected_value(
            product.FRACTION_DIFFUSE, row, col, SLOTS[index], encoding
        )


def test_lat_stored_north_to_south_maps_to_the_nearest_cell():
    grid = Grid(SMALL_GRID.lat.astype(np.float64), SMALL_GRID.lon.astype(np.float64))
    points = [
        Point("north", "n", 79.6, -79.6),  # nearest centres: lat 80 (row 0), lon -80 (col 0)
        Point("south", "s", -79.6, 79.6),  # lat -80 is the last row
        Point("tie", "t", 79.5, -79.5),  # half-way: the northern / western cell
        Point("sevilla", "x", 37.39, -5.98),  # lat 37 -> row 43, lon -6 -> col 74
    ]
    rows, cols = locate(points, grid, "f.nc")
    assert rows.tolist() == [0, 160, 0, 43]
    assert cols.tolist() == [0, 160, 0, 74]
    ascending = Grid(grid.lat[::-1].copy(), grid.lon)
    # stored south to north: same cells, the tie goes to the first in storage order (79 N)
    assert locate(points, ascending, "f.nc")[0].tolist() == [160, 0, 159, 117]


def test_a_point_outside_the_grid_is_an_error_naming_the_file_and_point(tmp_path):
    files = day_files(tmp_path / "in", DAY, slots=[0])
    outside = (*POINTS, Point("site-tokyo", "Tokyo", 35.68, 139.69))
    with pytest.raises(PointOutsideGridError, match=r"Disk_201803200000\.nc.*site-tokyo \(lat 35\.68"):
        _reference(tmp_path, files, outside)


def _bad_day(tmp_path: Path) -> tuple[list[Path], dict[str, Path]]:
    """A day of 10 files where five are broken in different ways and one has other chunking."""
    folder = tmp_path / "in"
    files = day_files(folder, DAY, slots=range(10))
    broken = {
        "unreadable": files[1],
        "truncated": files[2],
        "missing_variable": files[3],
        "grid_changed": files[4],
        "bad_time": files[5],
        "layout_changed": files[6],
    }
    files[1].write_bytes(b"not a netCDF file")
    files[2].write_bytes(files[2].read_bytes()[:3000])
    write_file(files[3], SLOTS[3], variables=[product.DSSF_TOT, product.QUALITY_FLAG])
    from data_platform.local.satellite_sample import SampleGrid

    write_file(files[4], SLOTS[4], grid=SampleGrid(n=161, step=1.0, north=81.0))
    write_file(files[5], SLOTS[5], time_coverage_start=f"{SLOTS[5] + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z")
    write_file(files[6], SLOTS[6], chunks=(1, 40, 40))
    return files, broken


def test_bad_files_are_reported_by_name_and_skipped(tmp_path):
    files, broken = _bad_day(tmp_path)
    results = _extract(tmp_path, files)
    outcome = assemble_day(DAY, results, POINTS, BadFilePolicy("skip", "read"))

    kinds = {b["file"].rsplit("/", 1)[-1]: b["kind"] for b in outcome.bad_files}
    assert kinds == {
        broken["unreadable"].name: "unreadable",
        broken["truncated"].name: "unreadable",
        broken["missing_variable"].name: "missing_variable",
        broken["grid_changed"].name: "grid_changed",
        broken["bad_time"].name: "bad_time",
    }
    assert all(b["action"] == "skip" for b in outcome.bad_files)
    assert [c["file"] for c in outcome.layout_changes] == [broken["layout_changed"].as_uri()]
    assert outcome.files_read == 5  # 4 good + the re-chunked one, read correctly
    assert outcome.missing_slots == ["00:15", "00:30", "00:45", "01:00", "01:15"] + [
        f"{s:%H:%M}" for s in SLOTS[10:]
    ]
    rechunked = [r for r in outcome.rows["site-a"] if r["source_file"] == broken["layout_changed"].name]
    row, col = SMALL_GRID.cell(POINTS[0].lat, POINTS[0].lon)
    assert rechunked[0]["dssf_tot"] == expected_value(product.DSSF_TOT, row, col, SLOTS[6])
    assert outcome.row_count == 5 * len(POINTS)


def test_fail_policies_name_every_bad_file(tmp_path):
    files, broken = _bad_day(tmp_path)
    results = _extract(tmp_path, files)

    with pytest.raises(BadFilesFailure) as failure:
        assemble_day(DAY, results, POINTS, BadFilePolicy("fail", "read"))
    for name in ("unreadable", "truncated", "missing_variable", "grid_changed", "bad_time"):
        assert broken[name].name in str(failure.value)
    assert broken["layout_changed"].name not in str(failure.value)

    good_only = [r for r in results if r["status"] == "ok"]
    with pytest.raises(BadFilesFailure, match=broken["layout_changed"].name):
        assemble_day(DAY, good_only, POINTS, BadFilePolicy("skip", "fail"))
    skipped = assemble_day(DAY, good_only, POINTS, BadFilePolicy("skip", "skip"))
    assert [b["kind"] for b in skipped.bad_files] == ["layout_changed"] and skipped.files_read == 4


def test_the_recorded_grid_catches_a_grid_change_on_a_later_day(tmp_path):
    first = day_files(tmp_path / "in", DAY, slots=[0])
    _reference(tmp_path, first)  # records the grid
    from data_platform.local.satellite_sample import SampleGrid

    later = write_file(tmp_path / "later.nc", SLOTS[1], grid=SampleGrid(n=171, step=1.0))
    (result,) = _extract(tmp_path, [later])
    assert result["status"] == "bad" and result["kind"] == "grid_changed"
    assert "lat 80..-90 (171)" in result["message"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"points": []}, "lists no points"),
        ({"points": [{"site_id": "A b", "name": "x", "lat": 1, "lon": 2}]}, "lower-case"),
        ({"points": [{"site_id": "a", "name": "x", "lat": 1}]}, "missing keys \\['lon'\\]"),
        ({"points": [{"site_id": "a", "name": "x", "lat": 91, "lon": 2}]}, "out of range"),
        ({"points": [{"site_id": "a", "name": "x", "lat": 1, "lon": 2}] * 2}, "appears twice"),
    ],
)
def test_catalogue_errors_name_the_entry(document, message):
    with pytest.raises(PointsCatalogueError, match=message):
        parse_points(document, "points.yaml")


def test_a_corrupt_chunk_is_a_bad_file_not_a_crash(tmp_path):
    import h5py

    files = day_files(tmp_path / "in", DAY, slots=[0, 1])
    row, col = SMALL_GRID.cell(POINTS[0].lat, POINTS[0].lon)
    with h5py.File(files[1]) as handle:
        chunk = handle[product.FRACTION_DIFFUSE].id.get_chunk_info_by_coord(
            (0, row // 64 * 64, col // 64 * 64)
        )
    with files[1].open("r+b") as raw:
        raw.seek(chunk.byte_offset)
        raw.write(b"\xff" * chunk.size)

    results = _extract(tmp_path, files)

    assert results[0]["status"] == "ok"
    assert results[1]["status"] == "bad" and results[1]["kind"] == "unreadable"
    assert "error" in results[1]["message"].lower()
