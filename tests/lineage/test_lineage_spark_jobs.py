"""Column lineage the Spark jobs add where the agent cannot see the mapping."""

from __future__ import annotations

import argparse
import json

from data_platform.lineage.columns import edges_of_event
from data_platform.lineage.graph import build_graph, find_columns, walk
from data_platform.lineage.validation import problems
from spark_jobs.satellite.extract_job import emit_lineage


def test_satellite_series_columns_walk_back_to_the_netcdf_variables(tmp_path, monkeypatch) -> None:
    log_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    args = argparse.Namespace(
        input_root="s3://products/mdssftd", lake_root="s3://lake/lake", table="dssf_timeseries", run_id="r1"
    )
    emit_lineage(args, {}, "COMPLETE")
    (event,) = (json.loads(line) for line in log_file.read_text().splitlines())
    assert problems(event) == []
    graph = build_graph(edges_of_event(event))
    [start] = find_columns(graph, "satellite/dssf_timeseries", "dssf_tot")
    [step] = walk(graph, start, "upstream")
    assert (step.source, step.transformation, step.subtype) == (
        ("s3://products", "mdssftd", "DSSF_TOT"),
        "DIRECT",
        "TRANSFORMATION",
    )
    [site] = find_columns(graph, "satellite/dssf_timeseries", "site_id")
    assert {(s.source[2], s.transformation) for s in walk(graph, site, "upstream")} == {
        ("lat", "INDIRECT"),
        ("lon", "INDIRECT"),
    }
