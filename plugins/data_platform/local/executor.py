"""The local runtime's executor: Airflow's LocalExecutor, its workers forked with the DAG files' imports loaded.

Every task of a LocalExecutor runs in a process forked from one of the executor's workers, and
parses its DAG file first. The project's DAG files import the Kubernetes and Amazon providers
(the ``kubernetes`` and ``kubernetes_asyncio`` clients, boto3) and the platform code: about 7 s of
imports in every task on the 2-core machine, for tasks that often run under a second (an empty
hourly CDC run is three such tasks). Importing those modules once in the scheduler, before it
forks the workers, leaves each task only the DAG file's own code: a forked parse of
``dags/cdc_pipelines.py`` took 7.5 s cold and 0.1 s with the imports loaded. It is what
``[dag_processor] parsing_pre_import_modules`` does for the dag-processor's parsing processes.

Set by :func:`data_platform.local.runtime.local_environment` as
``AIRFLOW__CORE__EXECUTOR=data_platform.local.executor.PreImportingLocalExecutor``; MWAA runs its
own executor, this one is local only.
"""

from __future__ import annotations

import ast
import importlib
import logging
from collections.abc import Iterable
from pathlib import Path

from airflow.configuration import conf
from airflow.executors.local_executor import LocalExecutor

log = logging.getLogger(__name__)

PRE_IMPORTED_PACKAGES = ("airflow", "data_platform")


def dag_file_imports(dag_files: Iterable[Path], packages: Iterable[str] = PRE_IMPORTED_PACKAGES) -> list[str]:
    """The modules of ``packages`` that the DAG files import at their top level, in order, once
    each (``import a.b`` and ``from a.b import c`` give ``a.b``; relative imports are skipped).
    A file that does not parse adds nothing: its task reports the syntax error itself."""
    wanted = tuple(packages)
    modules: dict[str, None] = {}
    for path in dag_files:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            modules.update(dict.fromkeys(n for n in names if n.split(".")[0] in wanted))
    return list(modules)


def pre_import(modules: Iterable[str]) -> list[str]:
    """Import ``modules``; returns those that failed (logged as warnings: the task that needs
    one reports the real error when it parses its DAG file)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any import-time error belongs to the task that parses the file
            failed.append(name)
            log.warning("Not pre-imported for the task processes: %s (%s: %s)", name, type(exc).__name__, exc)
    return failed


class PreImportingLocalExecutor(LocalExecutor):
    """``LocalExecutor`` that imports the DAG files' modules of ``pre_imported_packages``
    (``[core] dags_folder``, ``*.py``) before it forks its workers, so the task processes forked
    from them inherit the modules instead of importing them again."""

    pre_imported_packages: tuple[str, ...] = PRE_IMPORTED_PACKAGES

    def start(self) -> None:
        dags_folder = Path(conf.get("core", "dags_folder"))
        modules = dag_file_imports(sorted(dags_folder.glob("*.py")), self.pre_imported_packages)
        failed = pre_import(modules)
        log.info("Pre-imported %d modules of the DAG files in %s", len(modules) - len(failed), dags_folder)
        super().start()
