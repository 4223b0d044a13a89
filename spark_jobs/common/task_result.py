"""Hand a small JSON result back to the orchestrator when a job runs as a pod task.

KubernetesPodOperator's XCom sidecar reads ``/airflow/xcom/return.json``; the platform's pod
wrapper names that file in ``POD_XCOM_RETURN_FILE`` (a temporary file on the local target).
Outside a pod task the variable is unset and nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULT_FILE_ENV = "POD_XCOM_RETURN_FILE"


def write_task_result(document: Any) -> Path | None:
    target = os.environ.get(RESULT_FILE_ENV)
    if not target:
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, sort_keys=True))
    return path
