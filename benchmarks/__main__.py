"""Run the benchmarks: ``python -m benchmarks [name ...]`` (``make bench``); default: all."""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = (
    "dag_parse",
    "warehouse_load",
    "cdc_merge",
    "cdc_small_batch",
    "satellite_extract",
    "datadog_logs",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== benchmark: {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
