"""Point extraction from product files at the real 3201 x 3201 grid, per core, three ways:

- ``source post``: the AWS post's per-file algorithm: netCDF4 reads the whole slice of each
  variable (``dataset[var][0][lats, lons]``), then a pandas DataFrame per file and ``pd.concat``;
- ``project``: ``spark_jobs.satellite.extract.extract_files`` (what each Spark Python worker
  runs): grid check, one element-selection read per variable (only the touched chunks are
  decompressed), CF decoding of DSSF_TOT, FRACTION_DIFFUSE and quality_flag;
- ``netCDF4 point slicing``: the alternative reader, ``variable[0, row, col]`` per point;
- ``floor``: h5py ``read_direct_chunk`` of just the touched chunks + ``zlib.decompress``, nothing
  else (no decoding, no grid check).

All three read the same files (local disk, page cache warm) in one process. Then how the project's
cost grows with points (10 -> 1,000) and files, and with 2 worker processes (as Spark's local[2]).
Files are generated once into .local/bench/satellite/ (zlib + shuffle, 400 x 400 chunks).

Run: ``python -m benchmarks.satellite_extract [files]`` (default 12).
"""

from __future__ import annotations

import random
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

DEFAULT_FILES = 12
CHUNKS = (1, 400, 400)
BENCH_DAY = date(2018, 6, 21)


def _files(count: int) -> list[Path]:
    from data_platform.local.satellite_sample import REAL_GRID, write_file
    from data_platform.paths import local_dir
    from spark_jobs.satellite import product

    folder = local_dir() / "bench" / "satellite" / "x".join(map(str, CHUNKS))
    paths = []
    for slot in product.day_slots(BENCH_DAY)[32 : 32 + count]:
        path = folder / product.day_folder(BENCH_DAY) / product.file_name(slot)
        if not path.exists():
            print(f"  generating {path.name} (3201 x 3201)", flush=True)
            write_file(path, slot, grid=REAL_GRID, chunks=CHUNKS)
        paths.append(path)
    return paths


def _post_indices(count: int) -> tuple[list[int], list[int]]:
    """The post's points: random cells in rows/cols 1000..2500 (seeded as in the post)."""
    random.seed(10)
    coords = [(random.randint(1000, 2500), random.randint(1000, 2500)) for _ in range(count)]
    return [c[0] for c in coords], [c[1] for c in coords]


def source_post(paths: Sequence[Path], rows: list[int], cols: list[int]) -> Any:
    import netCDF4
    import pandas as pd

    columns = ["time", "point_id", "DSSF_TOT", "FRACTION_DIFFUSE"]
    frame = pd.DataFrame(columns=columns)
    for path in paths:
        dataset = netCDF4.Dataset(path)
        data_1 = dataset["DSSF_TOT"][0][rows, cols]
        data_2 = dataset["FRACTION_DIFFUSE"][0][rows, cols]
        data_time = dataset.__dict__["time_coverage_start"]
        dataset.close()
        new = pd.DataFrame(
            list(zip([data_time] * len(rows), range(len(rows)), data_1, data_2, strict=True)), columns=columns
        )
        frame = pd.concat([frame, new]) if len(frame) else new
    return frame


def netcdf4_points(paths: Sequence[Path], rows: list[int], cols: list[int]) -> int:
    """The alternative considered: netCDF4 slicing point by point (the library's chunk cache
    keeps each decompressed chunk for the next point), packed values only."""
    import netCDF4

    from spark_jobs.satellite import product

    count = 0
    for path in paths:
        with netCDF4.Dataset(path) as dataset:
            for name in product.VARIABLES:
                variable = dataset[name]
                variable.set_auto_maskandscale(False)
                count += len([variable[0, r, c] for r, c in zip(rows, cols, strict=True)])
    return count


def project(paths: Sequence[Path], reference: Any) -> list[dict[str, Any]]:
    from spark_jobs.satellite.extract import extract_files

    results = list(extract_files([p.as_uri() for p in paths], reference))
    assert all(r["status"] == "ok" for r in results), [r for r in results if r["status"] != "ok"][:1]
    return results


def floor(paths: Sequence[Path], rows: list[int], cols: list[int]) -> int:
    import h5py

    from spark_jobs.satellite import product

    touched = sorted({(r // CHUNKS[1], c // CHUNKS[2]) for r, c in zip(rows, cols, strict=True)})
    decompressed = 0
    for path in paths:
        with h5py.File(path, "r") as handle:
            for name in product.VARIABLES:
                dataset = handle[name]
                for chunk_row, chunk_col in touched:
                    _, data = dataset.id.read_direct_chunk((0, chunk_row * CHUNKS[1], chunk_col * CHUNKS[2]))
                    decompressed += len(zlib.decompress(data))
    return decompressed


def _reference(path: Path, rows: list[int], cols: list[int]) -> Any:
    from data_platform.local.satellite_sample import REAL_GRID
    from spark_jobs.satellite.points import Point
    from spark_jobs.satellite.reference import establish_reference

    points = [
        Point(f"p{i}", f"p{i}", float(REAL_GRID.lat[r]), float(REAL_GRID.lon[c]))
        for i, (r, c) in enumerate(zip(rows, cols, strict=True))
    ]
    state = path.parent / f"_reference_{len(points)}.json"
    state.unlink(missing_ok=True)
    reference = establish_reference(state.as_uri(), [path.as_uri()], points)
    state.unlink()
    assert reference is not None and list(reference.rows) == rows and list(reference.cols) == cols
    return reference


def _timed(run: Callable[[], Any], repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _worker(args: tuple[list[Path], Any]) -> int:
    return len(project(*args))


def main(argv: Sequence[str] = ()) -> None:
    count = int(argv[0]) if argv else DEFAULT_FILES
    paths = _files(count)
    size_mb = sum(p.stat().st_size for p in paths) / count / 1e6
    rows, cols = _post_indices(100)
    reference = _reference(paths[0], rows, cols)
    values = count * len(rows)
    touched = len({(r // CHUNKS[1], c // CHUNKS[2]) for r, c in zip(rows, cols, strict=True)})
    print(
        f"{count} files of 3201 x 3201 (int16, chunks {CHUNKS}, zlib+shuffle, {size_mb:.1f} MB each), "
        f"100 points as in the post (rows/cols 1000-2500: {touched} of 81 chunks per variable)"
    )

    # the same values from both readers (the post's masked values -> None)
    post = source_post(paths[:1], rows, cols)
    mine = project(paths[:1], reference)[0]
    post_dssf = [None if v is None or str(v) == "--" else round(float(v), 4) for v in post["DSSF_TOT"]]
    assert post_dssf == [None if v is None else round(v, 4) for v in mine["dssf_tot"]], "readers disagree"

    timings = {
        "source post (netCDF4 whole slice + pandas)": _timed(
            lambda: source_post(paths, rows, cols), repeat=1
        ),
        "project (touched chunks, decoded, 3 vars)": _timed(lambda: project(paths, reference)),
        "netCDF4 point slicing (3 vars, not decoded)": _timed(lambda: netcdf4_points(paths, rows, cols)),
        "floor (read_direct_chunk + zlib, 3 vars)": _timed(lambda: floor(paths, rows, cols)),
    }
    print(f"\n{'one process (per core)':44} {'s':>7} {'files/s':>9} {'values/s':>10}")
    for label, seconds in timings.items():
        print(f"{label:44} {seconds:7.2f} {count / seconds:9.1f} {values / seconds:10.0f}")
    post_s, mine_s, _, floor_s = timings.values()
    print(f"\nproject vs source post: {post_s / mine_s:.1f}x faster per core (target >= 3x)")
    print(f"project vs floor: {mine_s / floor_s:.2f}x the floor's time (target <= 1.5x)")

    print("\nproject cost vs points (same files):")
    rng = random.Random(3)
    for n in (10, 100, 1000):
        r = [rng.randint(0, 3200) for _ in range(n)]
        c = [rng.randint(0, 3200) for _ in range(n)]
        ref = _reference(paths[0], r, c)
        chunks = len({(a // CHUNKS[1], b // CHUNKS[2]) for a, b in zip(r, c, strict=True)})
        seconds = _timed(lambda ref=ref: project(paths, ref), repeat=3)
        print(
            f"  {n:5} points ({chunks:2} of 81 chunks touched): {1000 * seconds / count:6.1f} ms/file, {n * count / seconds:9.0f} values/s"
        )
    print("project cost vs files (100 points):")
    for n in (max(1, count // 4), max(1, count // 2), count):
        seconds = _timed(lambda n=n: project(paths[:n], reference), repeat=3)
        print(f"  {n:5} files: {seconds:6.2f} s, {1000 * seconds / n:6.1f} ms/file")
    halves = [(paths[: count // 2], reference), (paths[count // 2 :], reference)]
    with get_context("spawn").Pool(2) as pool:
        pool.map(_worker, halves)  # start-up
        seconds = _timed(lambda: pool.map(_worker, halves))
    print(
        f"project, 2 worker processes (as Spark local[2]): {count / seconds:.1f} files/s, {values / seconds:.0f} values/s"
    )
    year = 96 * 365
    print(
        f"a year ({year} files, 100 points) at this rate: {year * mine_s / count / 60:.0f} core-minutes "
        f"(source post: {year * post_s / count / 60:.0f} core-minutes)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
