"""A tiny job run by the local pod-task tests as ``python -m tests.pod.sample_job <mode>``.

It stands in for ``python -m spark_jobs.cdc.<step>``: a module imported from the repository root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(mode: str, *args: str) -> int:
    if mode == "report":
        print(f"cwd={os.getcwd()}")
        print(f"executable={sys.executable}")
        print(f"args={json.dumps(args)}")
        print(f"GREETING={os.environ.get('GREETING')}")
        print(f"warehouse_conn_visible={'AIRFLOW_CONN_WAREHOUSE' in os.environ}")
        return 0
    if mode == "fail":
        for number in range(30):
            print(f"line {number}")
        print("something broke", file=sys.stderr)
        return int(args[0])
    if mode == "hang":
        # Start a grandchild, report both pids, then wait to be stopped.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print("started", flush=True)
        Path(args[0]).write_text(json.dumps({"job": os.getpid(), "grandchild": child.pid}))
        time.sleep(120)
        return 0
    if mode == "leak-secret":
        conn = json.loads(os.environ["JIRA_CONN"])
        print(f"connection: {os.environ['JIRA_CONN']}")
        print(f"password is {conn['password']}")
        return 0
    if mode == "xcom":
        Path(os.environ["POD_XCOM_RETURN_FILE"]).write_text(
            json.dumps({"batches": [["orders", "customers"]]})
        )
        return 0
    if mode == "xcom-then-fail":
        Path(os.environ["POD_XCOM_RETURN_FILE"]).write_text(json.dumps({"written": 2, "failed_at": "c"}))
        print("wrote the return file, then failed")
        return 1
    if mode == "lineage":
        # a job's own OpenLineage event, as spark_jobs.jira.extract sends one
        from spark_jobs.common.lineage import LineageEmitter

        print(f"lineage_sent={LineageEmitter.from_environment().emit('COMPLETE', 'sample_job', args[0])}")
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
