"""DAG parsing stays cheap: importing PlatformPodOperator loads no configuration, validation or lineage code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from data_platform.paths import PLUGINS_DIR

RUN_TIME_ONLY = [
    "data_platform.pod.profiles",
    "data_platform.pod.images",
    "data_platform.pod.lineage",
    "data_platform.pod.secret_refs",
    "data_platform.pod.local_runner",
    "data_platform.settings",
    "openlineage.client",
]
PROBE = f"""
import json, sys
import data_platform.pod
provider_loaded = "airflow.providers.cncf.kubernetes.operators.pod" in sys.modules
from data_platform.pod import PlatformPodOperator
print(json.dumps({{"provider_before_use": provider_loaded,
                  "run_time_modules": [m for m in {RUN_TIME_ONLY!r} if m in sys.modules]}}))
"""


def test_importing_pod_task_loads_only_the_operator():
    env = {**os.environ, "PYTHONPATH": str(PLUGINS_DIR)}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"provider_before_use": False, "run_time_modules": []}
