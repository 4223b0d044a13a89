"""Demo hooks of the satellite pipeline: land three days of small-grid product files (one file
corrupt, to show the bad-file report), then compare every warehouse value with the generator's
known function and plot a few points' series over the three days.

Three days (one daily run each, as a backfill makes them) keep the demo reasonably short: each
run is one Spark job, whose start dominates its time (the 96 small files take seconds); the
tests cover incomplete days and reruns."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from data_platform.paths import local_dir

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

DAYS = (date(2026, 1, 15), date(2026, 1, 16), date(2026, 1, 17))  # the demo registry's logical dates
CORRUPT_SLOT = (DAYS[0], 50)  # 12:30 UTC: a truncated file, skipped and reported
PLOT_POINTS = 3


def _input_root(settings: PlatformSettings) -> Path:
    from data_platform.satellite.pipeline import pipeline_config

    return Path(settings.landing_root.removeprefix("file://")) / pipeline_config().input_prefix


def prepare(settings: PlatformSettings) -> None:
    """Write each day's 96 files (small grid), the corrupt one truncated to half its bytes."""
    prepare_days(settings, list(DAYS))


def prepare_days(settings: PlatformSettings, days: list[date]) -> None:
    """:func:`prepare` for ``days`` (the corrupt file only when its day is one of them)."""
    from data_platform.local.satellite_sample import day_files

    for day in days:
        paths = day_files(_input_root(settings), day)
        if day == CORRUPT_SLOT[0]:
            victim = paths[CORRUPT_SLOT[1]]
            victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])


def _expected_rows(days: tuple[date, ...]) -> dict[tuple[str, datetime], tuple[float | int | None, ...]]:
    from data_platform.config import load_yaml
    from data_platform.local.satellite_sample import SMALL_GRID, expected_value
    from data_platform.satellite.pipeline import pipeline_config
    from spark_jobs.satellite import product
    from spark_jobs.satellite.points import parse_points

    points = parse_points(load_yaml(pipeline_config().points), pipeline_config().points)
    expected: dict[tuple[str, datetime], tuple[float | int | None, ...]] = {}
    for day in days:
        for index, slot in enumerate(product.day_slots(day)):
            if (day, index) == CORRUPT_SLOT:
                continue
            for point in points:
                row, col = SMALL_GRID.cell(point.lat, point.lon)
                expected[(point.site_id, slot.replace(tzinfo=None))] = tuple(
                    expected_value(v, row, col, slot) for v in product.VARIABLES
                )
    return expected


def verify(settings: PlatformSettings) -> str:
    """Every warehouse row equals the generator's value (nulls where it wrote fill); writes the PNG."""
    return verify_days(settings, DAYS)


def verify_landed(settings: PlatformSettings) -> str:
    """:func:`verify` for every day that has product files under the input root."""
    from spark_jobs.satellite import product

    slots = (product.slot_of_name(p.name) for p in _input_root(settings).rglob("NETCDF4_*.nc"))
    days = tuple(sorted({slot.date() for slot in slots if slot is not None}))
    assert days, f"no product files under {_input_root(settings)}"
    return verify_days(settings, days)


def verify_days(settings: PlatformSettings, days: tuple[date, ...]) -> str:
    """Every warehouse row of ``days`` equals the generator's value; writes the PNG."""
    from airflow.sdk import BaseHook

    from data_platform.satellite.pipeline import pipeline_config

    hook = BaseHook.get_connection(settings.warehouse_conn_id).get_hook()
    rows = hook.get_records(
        f"SELECT site_id, obs_time, dssf_tot, fraction_diffuse, quality_flag FROM {pipeline_config().warehouse_table} "
        f"WHERE obs_date BETWEEN '{days[0]}' AND '{days[-1]}' ORDER BY site_id, obs_time"
    )
    actual = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
    expected = _expected_rows(days)
    assert len(rows) == len(actual), "duplicate point/slot rows in the warehouse"
    assert actual.keys() == expected.keys(), (
        f"warehouse has {len(actual)} point-slots, expected {len(expected)}: "
        f"missing {sorted(expected.keys() - actual.keys())[:3]}, extra {sorted(actual.keys() - expected.keys())[:3]}"
    )
    wrong = [(key, actual[key], want) for key, want in expected.items() if actual[key] != want]
    assert not wrong, f"{len(wrong)} values differ, e.g. {wrong[:3]}"
    nulls = sum(value is None for values in actual.values() for value in values)
    plot = plot_series(rows, local_dir() / "demo" / "satellite_timeseries.png")
    skipped = f", slot {CORRUPT_SLOT[0]} #{CORRUPT_SLOT[1]} skipped as corrupt" if CORRUPT_SLOT[0] in days else ""
    return (
        f"warehouse equals the generated product at every point and slot ({len(rows)} rows, "
        f"{nulls} nulls from fill values{skipped}); plot: {plot}"
    )


def plot_series(rows: list[tuple], target: Path) -> Path:
    """PNG of DSSF_TOT and FRACTION_DIFFUSE over time for the first few points of ``rows``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sites = sorted({r[0] for r in rows})[:PLOT_POINTS]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    for site in sites:
        series = [r for r in rows if r[0] == site]
        times = [r[1] for r in series]
        top.plot(times, [float("nan") if r[2] is None else r[2] for r in series], label=site, linewidth=0.9)
        bottom.plot(
            times, [float("nan") if r[3] is None else r[3] for r in series], label=site, linewidth=0.9
        )
    top.set_ylabel("DSSF_TOT (W/m²)")
    bottom.set_ylabel("FRACTION_DIFFUSE")
    bottom.set_xlabel("slot start (UTC); gaps = fill values / skipped file")
    top.legend(loc="upper right", fontsize=8)
    top.set_title("satellite_timeseries: sample product at the catalogue points")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
