"""The local target of ``SparkJobOperator``: the job's entry point, args and merged conf through ``spark-submit``.

Runs pyspark's ``spark-submit`` (next to the current interpreter) in local mode with the working
tree's package on ``PYTHONPATH`` and ``PYSPARK_PYTHON`` set to this interpreter, supervised by
:class:`data_platform.process.LocalProcess` (output into the task log, the exit code decides,
the process group is stopped at the task's deadline or when the task is killed). The driver's
stdout and stderr are also written in EMR Serverless's log layout under the local logUri
(:class:`data_platform.spark.local_logs.LocalRunLogs`, the supervisor's ``on_output`` hook), so
the log shipper reads local runs as it reads EMR Serverless runs; the run record names them
(``application_id``, ``job_run_id``, ``log_uri``). ``secrets=[...]`` reach spark-submit as
``<NAME>_CONN`` (masked), as for pod tasks.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout

from data_platform.paths import include_file, local_dir
from data_platform.process import LocalProcess, child_environment
from data_platform.settings import Target, get_settings
from data_platform.spark.conf import SparkConf
from data_platform.spark.emr_request import TAG_JOB, TAG_VERSION
from data_platform.spark.identity import TaskRunIdentity
from data_platform.spark.local_logs import LocalRunLogs
from data_platform.spark.versions import VersionPin

if TYPE_CHECKING:
    from data_platform.spark.environments import SparkEnvironment
    from data_platform.spark.jobs import JobSpec
    from data_platform.spark.operators import SparkJobOperator

LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
KILL_GRACE_SECONDS = 10
TAIL_LINES = 50
_SUBMIT_OPTIONS = {"spark.driver.memory": "--driver-memory"}
HUDI_CONF_DIR_ENV_VAR = "HUDI_CONF_DIR"
HUDI_LOCAL_CONF_DIR = "spark/hudi-local"
"""Include folder of the local target's ``hudi-defaults.conf`` (Hudi reads ``$HUDI_CONF_DIR``)."""


def spark_submit_executable() -> str:
    """pyspark's ``spark-submit`` of this interpreter's environment (or the one on PATH)."""
    beside = Path(sys.executable).parent / "spark-submit"
    if beside.is_file():
        return str(beside)
    found = shutil.which("spark-submit")
    if not found:
        raise FileNotFoundError(
            "spark-submit not found next to the Python interpreter or on PATH; install pyspark "
            "(requirements-dev.txt) into the environment Airflow runs in."
        )
    return found


def spark_submit_command(
    master: str, name: str, conf: SparkConf, launcher: Path, module: str, args: list[str]
) -> list[str]:
    """``spark-submit --master ... --conf k=v ... launcher.py <module> <args>``."""
    command = [spark_submit_executable(), "--master", master, "--name", name]
    for key, value in sorted(conf.values.items()):
        command += [_SUBMIT_OPTIONS[key], value] if key in _SUBMIT_OPTIONS else ["--conf", f"{key}={value}"]
    return [*command, str(launcher), module, *args]


def submit_environment(spec: JobSpec) -> dict[str, str]:
    """The environment of a local spark-submit of ``spec``'s job (without the task's secrets)."""
    env = child_environment(
        {
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            # Only the job's package, as on EMR (not the worker's plugins/: jobs never import them).
            "PYTHONPATH": str(spec.source_root),
            "PYTHONUNBUFFERED": "1",
        }
    )
    hudi_conf = include_file(HUDI_LOCAL_CONF_DIR)
    if hudi_conf.is_dir():  # Hudi's defaults of the local target (EMR: /etc/hudi/conf/hudi-defaults.conf)
        env[HUDI_CONF_DIR_ENV_VAR] = str(hudi_conf)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: no need to resolve the host name
    return env


def spark_scratch(prefix: str) -> Path:
    """A new folder for one local Spark run's scratch space (``SPARK_LOCAL_DIRS``: Spark's temp
    folders, the copies of the JVM packages its executors fetch, about 400 MB, shuffle files),
    under ``<local dir>/spark/tmp``. The run removes it when it ends, whatever the outcome: a
    killed JVM cannot clean up after itself, and its default place, /tmp, filled up with them."""
    root = local_dir() / "spark" / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


class LocalSparkTarget:
    """One spark-submit run of ``operator``'s job from the working tree."""

    def __init__(self, operator: SparkJobOperator, environment: SparkEnvironment, spec: JobSpec) -> None:
        self.operator = operator
        self.environment = environment
        self.spec = spec
        self.process: LocalProcess | None = None

    def run_logs(self, context: Any) -> LocalRunLogs:
        """The run's log folder, with the tags a job run on EMR Serverless would carry."""
        ti = context["ti"]
        return LocalRunLogs(
            name=f"{ti.dag_id}.{ti.task_id}",
            tags={
                **self.operator.tags,
                TAG_JOB: self.spec.name,
                TAG_VERSION: str(self.spec.version),
                "environment": self.environment.name,
                **TaskRunIdentity.from_context(context, self.operator.retries or 0).tags(),
            },
        )

    def run(self, context: Any) -> dict[str, Any]:
        from airflow.providers.common.compat.sdk import redact

        from data_platform.pod.secret_refs import local_secret_env

        operator, spec = self.operator, self.spec
        module = spec.entry_module(operator.entry_point)
        if not VersionPin.parse(operator.version).matches(spec.version):
            operator.log.warning(
                "version=%r does not match the working tree's %s %s (include/spark/jobs.yaml); "
                "the local target runs the working tree.",
                operator.version,
                spec.name,
                spec.version,
            )
        conf = operator.spark_conf(
            Target.LOCAL, self.environment, spec.profiles, f"local, environment {self.environment.name}"
        ).with_openlineage_parent(context)
        ti = context["ti"]
        workdir = local_dir() / "spark" / "work" / f"{ti.dag_id}.{ti.task_id}.{getattr(ti, 'map_index', -1)}"
        workdir.mkdir(parents=True, exist_ok=True)
        # Run a copy, as on EMR: the script's folder goes first on sys.path, and this package's
        # folder would shadow modules of the job named like ours (conf, logs, hooks...).
        shutil.copyfile(LAUNCHER, workdir / LAUNCHER.name)
        master = self.environment.local.master if self.environment.local else "local[2]"
        command = spark_submit_command(
            master,
            f"{ti.dag_id}.{ti.task_id}",
            conf,
            workdir / LAUNCHER.name,
            module,
            [str(a) for a in operator.job_arguments()],
        )
        env = submit_environment(spec)
        env.update(local_secret_env(operator.secrets, get_settings()))
        scratch = spark_scratch(f"{ti.dag_id}.{ti.task_id}.")
        env["SPARK_LOCAL_DIRS"] = str(scratch)
        run_logs = self.run_logs(context)
        operator.log.info("Running: %s", " ".join(command))
        deadline = operator.deadline()
        self.process = LocalProcess(
            command,
            env=env,
            log=operator.log,
            timeout=max((deadline - datetime.now(UTC)).total_seconds(), 0),
            grace_period=KILL_GRACE_SECONDS,
            cwd=workdir,  # spark-warehouse/ and friends stay out of the checkout
            redact=lambda line: str(redact(line)),
            label="spark-submit",
            tail_lines=TAIL_LINES,
            on_output=run_logs.write,
        )
        run_logs.start()
        returncode: int | None = None  # None (not run to its end): the run is FAILED
        try:
            result = self.process.run()
            returncode = result.returncode
        finally:
            self.process = None
            run_logs.finish(returncode)
            shutil.rmtree(scratch, ignore_errors=True)
        if result.timed_out:
            raise AirflowTaskTimeout(
                f"Spark job {spec.name} ({module}) hit execution_timeout: spark-submit still running at "
                f"the deadline {deadline.isoformat()}; its process group was killed."
            )
        record = {
            "target": "local",
            "job": spec.name,
            "version": str(spec.version),
            "module": module,
            "exit_code": result.returncode,
            **run_logs.record(),
        }
        operator.record(context, record)
        if result.returncode != 0:
            tail = "\n".join(result.tail)
            raise AirflowException(
                f"Spark job {spec.name} ({module}) failed: spark-submit exited with code {result.returncode}. "
                f"Last lines:\n{tail}"
            )
        return record

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
