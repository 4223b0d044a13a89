"""``python -m data_platform.spark.artifacts build|deploy --job NAME [--version X.Y.Z]``.

``build`` writes ``dist/spark/<job>/<version>/``; ``deploy`` builds and uploads it to the
``artifacts_root`` of the current target/environment (PIPELINE_TARGET, PIPELINE_ENV,
ARTIFACTS_ROOT). The version comes from include/spark/jobs.yaml; ``--version`` is a guard that
must equal it (CI passes the version it validated).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from data_platform.config import ConfigError
from data_platform.settings import get_settings
from data_platform.spark.artifacts.build import build_artifact
from data_platform.spark.artifacts.manifest import ArtifactError
from data_platform.spark.artifacts.publish import deploy_artifact
from data_platform.spark.artifacts.store import open_store
from data_platform.spark.environments import load_spark_environment
from data_platform.spark.jobs import JobSpec, get_job
from data_platform.spark.versions import Version


def _job(args: argparse.Namespace) -> JobSpec:
    job = get_job(args.job)
    if args.version is not None and Version.parse(args.version) != job.version:
        raise ArtifactError(
            f"--version {args.version} does not match {job.name}'s version {job.version} in "
            "include/spark/jobs.yaml; change the file (the single source of the version) or the flag."
        )
    return job


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_platform.spark.artifacts")
    parser.add_argument("command", choices=["build", "deploy"])
    parser.add_argument("--job", required=True, help="job name in include/spark/jobs.yaml")
    parser.add_argument("--version", help="must equal the job's version in include/spark/jobs.yaml")
    parser.add_argument("--out", type=Path, help="build folder (default dist/spark/<job>/<version>)")
    args = parser.parse_args(argv)
    try:
        job = _job(args)
        built = build_artifact(job, args.out)
        print(f"built {job.name} {job.version} -> {built.folder}")
        if args.command == "deploy":
            settings = get_settings()
            emr = load_spark_environment(settings).emr
            store = open_store(
                settings.artifacts_root,
                aws_conn_id=(emr.aws_conn_id if emr else None) or settings.aws_conn_id,
                region=settings.region,
            )
            result = deploy_artifact(built, store)
            state = "deployed" if result.published else "already deployed (identical)"
            print(f"{state}: {result.uri}; aliases moved: {', '.join(result.aliases_moved) or 'none'}")
    except (ArtifactError, ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
