"""The satellite extraction job on local Spark: per-point day files with exact values, a rerun of
a day replaces that day only, the fail policy writes nothing, catalogue errors exit 2, and files
on S3 are read in place (moto)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_platform.local.satellite_sample import SMALL_GRID, day_files, expected_value
from spark_jobs.common.lake import read_json
from spark_jobs.satellite import product
from spark_jobs.satellite.extract_job import main
from spark_jobs.satellite.points import Point
from spark_jobs.satellite.series_table import day_file_uri, day_result_uri
from tests.satellite.satellite_testing import points_yaml

pytestmark = pytest.mark.spark
DAYS = (date(2019, 7, 1), date(2019, 7, 2))
POINTS = (Point("site-a", "A", 37.39, -5.98), Point("site-b", "B", -1.29, 36.82))


def _points_file(tmp_path: Path, points=POINTS) -> Path:
    path = tmp_path / "points.yaml"
    path.write_text(points_yaml(points))
    return path


def _run(tmp_path: Path, lake: str, days: str, *extra: str, points=POINTS) -> int:
    return main(
        [
            "--lake-root", lake,
            "--input-root", str(tmp_path / "in"),
            "--points", str(_points_file(tmp_path, points)),
            "--days", days,
            "--run-id", f"run-{days}-{len(extra)}",
            *extra,
        ]
    )  # fmt: skip


def _local(uri: str) -> str:
    return uri.removeprefix("file://")


def _series(lake: str, site: str, day: date) -> list[dict]:
    return pq.read_table(_local(day_file_uri(lake, "dssf_timeseries", site, day))).to_pylist()


def _expected(point: Point, day: date, slots) -> list[tuple]:
    row, col = SMALL_GRID.cell(point.lat, point.lon)
    all_slots = product.day_slots(day)
    return [
        (
            all_slots[i].replace(tzinfo=None),
            *(expected_value(v, row, col, all_slots[i]) for v in product.VARIABLES),
        )
        for i in slots
    ]


def _values(rows: list[dict]) -> list[tuple]:
    return [(r["obs_time"], r["dssf_tot"], r["fraction_diffuse"], r["quality_flag"]) for r in rows]


def test_days_extract_to_point_files_and_a_rerun_replaces_that_day_only(spark, tmp_path, lake):
    first_slots, second_slots = range(0, 96, 4), range(96)
    day_files(tmp_path / "in", DAYS[0], slots=first_slots)
    day_files(tmp_path / "in", DAYS[1], slots=second_slots)

    assert _run(tmp_path, lake, f"{DAYS[0]}..{DAYS[1]}") == 0

    for point in POINTS:
        assert _values(_series(lake, point.site_id, DAYS[0])) == _expected(point, DAYS[0], first_slots)
        assert _values(_series(lake, point.site_id, DAYS[1])) == _expected(point, DAYS[1], second_slots)
    result = read_json(day_result_uri(lake, "dssf_timeseries", DAYS[0]))
    assert result["rows"] == 24 * len(POINTS) and len(result["missing_slots"]) == 72
    second_day_file = Path(_local(day_file_uri(lake, "dssf_timeseries", "site-a", DAYS[1])))
    second_day_bytes = second_day_file.read_bytes()

    # the rest of day 1 arrives; rerunning day 1 replaces day 1's rows and leaves day 2 alone
    day_files(tmp_path / "in", DAYS[0], slots=[s for s in range(96) if s % 4])
    assert _run(tmp_path, lake, str(DAYS[0])) == 0

    assert _values(_series(lake, "site-a", DAYS[0])) == _expected(POINTS[0], DAYS[0], range(96))
    assert read_json(day_result_uri(lake, "dssf_timeseries", DAYS[0]))["missing_slots"] == []
    assert second_day_file.read_bytes() == second_day_bytes
    assert (
        read_json(day_result_uri(lake, "dssf_timeseries", DAYS[1]))["run_id"] == f"run-{DAYS[0]}..{DAYS[1]}-0"
    )


def test_fail_policy_writes_nothing_and_names_the_file(spark, tmp_path, lake, capsys):
    files = day_files(tmp_path / "in", DAYS[0], slots=range(4))
    files[2].write_bytes(b"broken")

    assert _run(tmp_path, lake, str(DAYS[0]), "--on-bad-file", "fail") == 1

    assert files[2].name in capsys.readouterr().err
    assert not Path(_local(day_file_uri(lake, "dssf_timeseries", "site-a", DAYS[0]))).exists()
    assert read_json(day_result_uri(lake, "dssf_timeseries", DAYS[0])) is None


def test_a_point_off_the_grid_exits_2_naming_it(spark, tmp_path, lake, capsys):
    day_files(tmp_path / "in", DAYS[0], slots=range(2))
    off = (*POINTS, Point("site-tokyo", "Tokyo", 35.68, 139.69))

    assert _run(tmp_path, lake, str(DAYS[0]), points=off) == 2
    err = capsys.readouterr().err
    assert "site-tokyo" in err and "201907010000.nc" in err


def test_files_on_s3_are_read_in_place(s3_bucket, tmp_path):
    import boto3

    from spark_jobs.satellite.extract import extract_files
    from spark_jobs.satellite.reference import establish_reference

    files = day_files(tmp_path / "in", DAYS[0], slots=[40, 41], chunks=(1, 32, 32))
    bucket = s3_bucket.removeprefix("s3://")
    client = boto3.client("s3")
    uris = []
    for path in files:
        key = f"mdssftd/{product.day_folder(DAYS[0])}/{path.name}"
        client.upload_file(str(path), bucket, key)
        uris.append(f"{s3_bucket}/{key}")

    reference = establish_reference(f"{s3_bucket}/_state/reference.json", uris, POINTS)
    results = list(extract_files(uris, reference))

    assert [r["status"] for r in results] == ["ok", "ok"]
    got = [(r["dssf_tot"][0], r["fraction_diffuse"][0], r["quality_flag"][0]) for r in results]
    assert got == [tuple(e[1:]) for e in _expected(POINTS[0], DAYS[0], [40, 41])]
