"""The pod / spark-submit entry points: plan and merge job (run in-process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spark_jobs.cdc import merge_job, plan
from spark_jobs.cdc.outputs import read_result

REPO = Path(__file__).resolve().parents[3]

CONFIG = """
source_db: src
defaults:
  source_schema: public
  cadence: hourly
  file_format: csv
  ordering_columns: [ts, seq]
  columns: [{name: id, type: bigint}]
tables:
  - source_table: items
    primary_key: [id]
  - source_table: others
    primary_key: [id]
  - source_table: quiet
    primary_key: [id]
    cadence: daily
"""


@pytest.fixture
def config_dir(tmp_path) -> str:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "src.yaml").write_text(CONFIG)
    return str(folder)


def test_plan_cli_lists_only_tables_with_new_files(dms, landing, lake, config_dir, tmp_path, capsys):
    dms.csv("LOAD00000001.csv", ["ts", "id", "seq"], [["t", 1, None]])
    output = f"file://{tmp_path}/plan.json"
    code = plan.main(
        [
            "--cadence",
            "hourly",
            "--config-dir",
            config_dir,
            "--landing-root",
            landing,
            "--lake-root",
            lake,
            "--output",
            output,
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["batches"] == [{"batch_id": "hourly-000", "tables": ["src.items"]}]
    assert printed["tables"] == {
        "src.items": {"pending_files": 1, "ignored_files": []},
        "src.others": {"pending_files": 0, "ignored_files": []},
    }
    assert json.loads(Path(output[len("file://") :]).read_text())["batches"] == printed["batches"]


@pytest.mark.spark
def test_merge_job_writes_results_and_exits_zero_when_a_table_failed(
    spark, dms, landing, lake, config_dir, tmp_path, capsys, restore_root_logging, monkeypatch
):
    events = tmp_path / "lineage.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    dms.csv("LOAD00000001.csv", ["ts", "id", "seq"], [["t", 1, None]])
    dms.csv("LOAD00000001.csv", ["ts", "id", "seq"], [["t", None, None]], folder="src/public/others")
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"batch_id": "hourly-000", "tables": ["src.items", "src.others"]}))
    result_uri = f"file://{tmp_path}/results/run-7.json"
    argv = [
        "--batch-json",
        str(batch),
        "--config-dir",
        config_dir,
        "--landing-root",
        landing,
        "--lake-root",
        lake,
    ]
    argv += ["--run-id", "run-7", "--result-uri", result_uri, "--sink", "snapshot"]
    assert merge_job.main(argv, spark=spark) == merge_job.EXIT_OK
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status_counts"] == {"ok": 1, "failed": 1}
    assert json.loads(Path(result_uri[len("file://") :]).read_text()) == summary
    assert read_result(lake, "src", "items", "run-7")["status"] == "ok"
    assert read_result(lake, "src", "others", "run-7")["error"]["kind"] == "null_primary_key"
    emitted = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["job"]["name"], e["eventType"]) for e in emitted] == [
        ("cdc_merge.src.items", "START"),
        ("cdc_merge.src.items", "COMPLETE"),
        ("cdc_merge.src.others", "START"),
        ("cdc_merge.src.others", "FAIL"),
    ]
    assert emitted[1]["outputs"][0]["name"].endswith("/lake/cdc/src/items")
    # same batch again, asking for a failing exit status: items reuses its committed result
    argv[argv.index("--batch-json") + 1] = '["src.items", "src.others"]'
    assert merge_job.main([*argv, "--fail-on-table-error"], spark=spark) == merge_job.EXIT_TABLE_FAILED
    rerun = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [(t["table_id"], t["status"], t["reused"]) for t in rerun["tables"]] == [
        ("src.items", "ok", True),
        ("src.others", "failed", False),
    ]


def test_merge_job_rejects_unknown_tables_and_bad_batches(config_dir, landing, lake, restore_root_logging):
    common = ["--config-dir", config_dir, "--landing-root", landing, "--lake-root", lake]
    assert merge_job.main(["--tables", "src.nope", *common]) == merge_job.EXIT_USAGE
    assert merge_job.main(["--batch-json", '{"tables": []}', *common]) == merge_job.EXIT_USAGE
    with pytest.raises(SystemExit):
        merge_job.main(common)  # neither --tables nor --batch-json


def test_merge_job_file_is_runnable_as_a_script():
    """spark-submit runs the file itself, outside the package."""
    out = subprocess.run(
        [sys.executable, str(REPO / "spark_jobs" / "cdc" / "merge_job.py"), "--help"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert out.returncode == 0 and "--batch-json" in out.stdout


def test_plan_runs_against_s3(s3_bucket, config_dir):
    from spark_jobs.cdc.plan import plan_cadence
    from spark_jobs.cdc.table_config import load_table_configs
    from spark_jobs.common.lake import write_atomic

    landing, lake = f"{s3_bucket}/landing", f"{s3_bucket}/lake"
    write_atomic(f"{landing}/src/public/others/LOAD00000001.csv", b"ts,id,seq\nt,1,\n")
    write_atomic(f"{landing}/src/public/others/2024/05/01/20240501-000000001.csv", b"Op,ts,id,seq\nU,t,1,1\n")
    plan = plan_cadence(load_table_configs(config_dir), "hourly", landing, lake)
    assert plan["batches"] == [{"batch_id": "hourly-000", "tables": ["src.others"]}]
    assert plan["tables"]["src.others"]["pending_files"] == 2
