"""Deploy to Amazon MWAA by S3 sync, and trigger or backfill DAG runs through its REST API.

    python -m data_platform.deploy.mwaa deploy [--config FILE] [--environment NAME ...] [--apply]
    python -m data_platform.deploy.mwaa trigger  --environment NAME --dag-id ID [--conf JSON]
    python -m data_platform.deploy.mwaa backfill --environment NAME --dag-id ID \
        --from-date 2026-01-01 --to-date 2026-01-31 [--reprocess-behavior failed]

``deploy`` is a dry run unless ``--apply``: for each environment of the config (default
include/mwaa/environments.yaml; data_platform.deploy.environments decides its share of the
DAGs) it runs the DAG integrity check on that environment's bundle (refusing on any problem),
then prints the plan (:func:`describe`): every put/delete with its size and reason, the Spark
job versions to upload, and whether UpdateEnvironment will be called. ``--apply`` carries it out.

Applied, ``deploy`` uploads the Spark artifacts first, then the bundle of
``data_platform.deploy.bundle`` (the exact bytes the tests parse): it mirrors the dags folder to
``s3://BUCKET/dags/`` (objects not in the environment's bundle are deleted), uploads plugins.zip,
requirements.txt and the startup script when their content changed, then compares the
environment's current object versions (``GetEnvironment``) with the versions that
hold this bundle and calls ``UpdateEnvironment`` only when they differ. The comparison is with
the environment, not with "did this run upload something", so a deploy whose update failed
(e.g. the environment was busy) is finished by the next run. Content is compared through a
SHA-256 stored as object metadata (``x-amz-meta-sha256``), never the ETag, which is not the MD5
of the bytes on SSE-KMS buckets. Credentials come from the usual boto3 chain (profile, SSO, role);
without any, every command stops at once with one line naming the fix (exit code 2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.deploy.bundle import Bundle, build_bundle
from data_platform.paths import REPO_ROOT

if TYPE_CHECKING:
    from data_platform.spark.artifacts import ArtifactStore

DAGS_PREFIX = "dags/"
PLUGINS_KEY = "plugins.zip"
REQUIREMENTS_KEY = "requirements.txt"
STARTUP_KEY = "startup.sh"
HASH_METADATA = "sha256"
ENVIRONMENTS_CONFIG = REPO_ROOT / "include" / "mwaa" / "environments.yaml"
# the environment fields that name an uploaded object and its version
_OBJECTS = (
    ("PluginsS3Path", "PluginsS3ObjectVersion", PLUGINS_KEY),
    ("RequirementsS3Path", "RequirementsS3ObjectVersion", REQUIREMENTS_KEY),
    ("StartupScriptS3Path", "StartupScriptS3ObjectVersion", STARTUP_KEY),
)
# an UpdateEnvironment call is refused while the environment is in one of these states
_BUSY = {"CREATING", "UPDATING", "DELETING", "ROLLING_BACK", "CREATING_SNAPSHOT", "PENDING", "MAINTENANCE"}


class EnvironmentBusy(RuntimeError):
    """The environment cannot take an update now; rerun deploy when it is AVAILABLE."""


@dataclass(frozen=True)
class S3Change:
    """One object deploy writes or removes: ``action`` put|delete, ``size`` in bytes."""

    action: str
    key: str
    size: int
    reason: str


@dataclass(frozen=True)
class ArtifactUpload:
    """A Spark job version the environment's artifact store does not hold yet."""

    job: str
    version: str
    uri: str


@dataclass
class DeployPlan:
    """What deploying a bundle to one environment changes (nothing is changed to compute it)."""

    environment: str
    bucket: str
    changes: list[S3Change]
    unchanged: int
    status: str | None
    update_reason: str | None  # why UpdateEnvironment will be called; None: it will not be
    latest_versions: dict[str, str | None]  # object key -> version holding the bundle's bytes now
    artifacts: list[ArtifactUpload] = field(default_factory=list)


@dataclass
class DeployResult:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    artifacts: list[str] = field(default_factory=list)
    environment_update: dict[str, Any] | None = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored_hash(s3: Any, bucket: str, key: str) -> tuple[str | None, str | None]:
    """(content hash recorded at upload, version id) of the latest ``key``, (None, None) if absent."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as err:
        if err.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None, None
        raise
    return head.get("Metadata", {}).get(HASH_METADATA), head.get("VersionId")


def _remote_sizes(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        sizes.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return sizes


def _bodies(bundle: Bundle) -> dict[str, bytes]:
    """Object key -> bytes of everything the bundle puts in the bucket."""
    return {
        **{DAGS_PREFIX + key: body for key, body in bundle.dags.items()},
        PLUGINS_KEY: bundle.plugins_zip,
        REQUIREMENTS_KEY: bundle.requirements,
        STARTUP_KEY: bundle.startup_script,
    }


def _new_artifacts(store: ArtifactStore, jobs: Iterable[str] | None) -> list[ArtifactUpload]:
    from data_platform.spark.artifacts.manifest import MANIFEST
    from data_platform.spark.jobs import get_job, load_jobs

    uploads = []
    for name in sorted(set(jobs) if jobs is not None else load_jobs()):
        job = get_job(name)
        folder = f"{name}/{job.version}"
        if store.read(f"{folder}/{MANIFEST}") is None:
            uploads.append(ArtifactUpload(name, str(job.version), store.uri(folder)))
    return uploads


def plan_deploy(
    s3: Any,
    mwaa: Any,
    bucket: str,
    environment: str,
    bundle: Bundle,
    artifacts: ArtifactStore | None = None,
    jobs: Iterable[str] | None = None,
) -> DeployPlan:
    """The changes deploying ``bundle`` to ``environment`` makes: puts of new or changed objects
    (by the SHA-256 recorded at upload), deletes of dags/ objects the bundle no longer has, the
    versions of the Spark ``jobs`` (default: every job of include/spark/jobs.yaml) that the
    ``artifacts`` store lacks, and whether UpdateEnvironment is needed (the
    environment's object versions are not the ones holding the bundle).

    Raises RuntimeError for a bucket without versioning."""
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise RuntimeError(
            f"Bucket {bucket} has no versioning; MWAA needs it (enable it on the bucket first)."
        )
    changes: list[S3Change] = []
    latest: dict[str, str | None] = {}
    unchanged = 0
    for key, body in sorted(_bodies(bundle).items()):
        stored, version = _stored_hash(s3, bucket, key)
        if stored == sha256(body):
            unchanged += 1
            latest[key] = version
        else:
            reason = "new" if version is None else "changed" if stored else "changed (no recorded sha256)"
            changes.append(S3Change("put", key, len(body), reason))
    local = {DAGS_PREFIX + key for key in bundle.dags}
    for key, size in sorted(_remote_sizes(s3, bucket, DAGS_PREFIX).items()):
        if key not in local:
            changes.append(S3Change("delete", key, size, "not in this environment's bundle"))
    current = mwaa.get_environment(Name=environment)["Environment"]
    put = {change.key for change in changes if change.action == "put"}
    differ = [] if current.get("DagS3Path") == DAGS_PREFIX.rstrip("/") else ["DagS3Path"]
    for path_field, version_field, key in _OBJECTS:
        if key in put:
            differ.append(f"{version_field} (new {key})")
        elif current.get(path_field) != key or current.get(version_field) != latest.get(key):
            differ.append(f"{version_field} (the environment runs another version of {key})")
    return DeployPlan(
        environment=environment,
        bucket=bucket,
        changes=changes,
        unchanged=unchanged,
        status=current.get("Status"),
        update_reason=", ".join(differ) or None,
        latest_versions=latest,
        artifacts=_new_artifacts(artifacts, jobs) if artifacts is not None else [],
    )


def apply_plan(
    s3: Any, mwaa: Any, plan: DeployPlan, bundle: Bundle, artifacts: ArtifactStore | None = None
) -> DeployResult:
    """Carry ``plan`` out: Spark artifacts first (DAGs may pin the new versions), then the puts
    (with their SHA-256 as metadata) and deletes, then UpdateEnvironment if the plan needs it.

    Raises :class:`EnvironmentBusy` when the update is needed but the environment is busy
    (nothing is lost: the objects are uploaded and the next run finishes the update)."""
    result = DeployResult(unchanged=plan.unchanged)
    if plan.artifacts:
        from data_platform.spark.artifacts import build_artifact, deploy_artifact
        from data_platform.spark.jobs import get_job

        assert artifacts is not None, "a plan with artifacts was made with an artifact store"
        for upload in plan.artifacts:
            deploy_artifact(build_artifact(get_job(upload.job)), artifacts)
            result.artifacts.append(f"{upload.job} {upload.version}")
    bodies = _bodies(bundle)
    versions = dict(plan.latest_versions)
    for change in plan.changes:
        if change.action == "put":
            body = bodies[change.key]
            response = s3.put_object(
                Bucket=plan.bucket, Key=change.key, Body=body, Metadata={HASH_METADATA: sha256(body)}
            )
            versions[change.key] = response.get("VersionId")
            result.uploaded.append(change.key)
        else:
            s3.delete_object(Bucket=plan.bucket, Key=change.key)
            result.deleted.append(change.key)
    if plan.update_reason is None:
        return result
    if plan.status in _BUSY:
        raise EnvironmentBusy(
            f"MWAA environment {plan.environment} is {plan.status}; the new objects are uploaded, rerun "
            "deploy when it is AVAILABLE to point the environment at them."
        )
    update: dict[str, Any] = {"Name": plan.environment, "DagS3Path": DAGS_PREFIX.rstrip("/")}
    for path_field, version_field, key in _OBJECTS:
        update[path_field] = key
        update[version_field] = versions[key]
    mwaa.update_environment(**update)
    result.environment_update = update
    return result


def deploy(
    s3: Any,
    mwaa: Any,
    bucket: str,
    environment: str,
    bundle: Bundle | None = None,
    repo_root: Path = REPO_ROOT,
    artifacts: ArtifactStore | None = None,
) -> DeployResult:
    """Plan and apply the deploy of ``bundle`` (default: the checkout's) to ``environment``;
    see :func:`plan_deploy` and :func:`apply_plan` for what is changed and the errors."""
    bundle = bundle or build_bundle(repo_root)
    return apply_plan(
        s3, mwaa, plan_deploy(s3, mwaa, bucket, environment, bundle, artifacts), bundle, artifacts
    )


def describe(plan: DeployPlan) -> str:
    """The plan as a person reads it: one line per change, then the UpdateEnvironment verdict."""
    lines = [f"environment {plan.environment} (s3://{plan.bucket}, status {plan.status}):"]
    width = max((len(c.key) for c in plan.changes), default=0)
    for change in plan.changes:
        lines.append(f"  {change.action:<6} {change.key:<{width}} {change.size:>12,} B  {change.reason}")
    for upload in plan.artifacts:
        lines.append(f"  spark  {upload.job} {upload.version} -> {upload.uri} (new version)")
    lines.append(f"  unchanged: {plan.unchanged} objects")
    if plan.update_reason:
        lines.append(f"  UpdateEnvironment: yes ({plan.update_reason})")
    else:
        lines.append("  UpdateEnvironment: no (the environment already runs these objects)")
    return "\n".join(lines)


def invoke(mwaa: Any, environment: str, method: str, path: str, body: dict | None = None) -> dict:
    """Call the environment's Airflow REST API (v2) through MWAA InvokeRestApi."""
    request: dict[str, Any] = {"Name": environment, "Path": path, "Method": method}
    if body is not None:
        request["Body"] = body
    response = mwaa.invoke_rest_api(**request)
    status = response["RestApiStatusCode"]
    if status >= 300:
        raise RuntimeError(f"{method} {path} answered {status}: {response.get('RestApiResponse')}")
    return response.get("RestApiResponse") or {}


def trigger(mwaa: Any, environment: str, dag_id: str, logical_date: str | None, conf: dict) -> dict:
    # Airflow 3 requires logical_date in the body (null = "now, no data interval").
    body = {"logical_date": logical_date, "conf": conf}
    return invoke(mwaa, environment, "POST", f"/dags/{dag_id}/dagRuns", body)


def backfill(
    mwaa: Any,
    environment: str,
    dag_id: str,
    from_date: str,
    to_date: str,
    reprocess_behavior: str = "none",
    max_active_runs: int = 4,
) -> dict:
    body = {
        "dag_id": dag_id,
        "from_date": from_date,
        "to_date": to_date,
        "reprocess_behavior": reprocess_behavior,
        "max_active_runs": max_active_runs,
    }
    return invoke(mwaa, environment, "POST", "/backfills", body)


NO_CREDENTIALS = (
    "error: no AWS credentials found; set AWS_PROFILE (or run `aws configure` / `aws sso login`), "
    "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def credentials_problem() -> str | None:
    """``None`` when the boto3 credential chain resolves credentials, else the one-line error.

    Checked before any work so a missing login fails at once: the probe resolves the chain
    (environment, profile, SSO, container, instance metadata) with the instance-metadata
    probe bounded to one attempt of 1 s, and makes no AWS call.
    """
    import botocore.session
    from botocore.exceptions import BotoCoreError

    session = botocore.session.get_session()
    session.set_config_variable("metadata_service_timeout", 1)
    session.set_config_variable("metadata_service_num_attempts", 1)
    try:
        credentials = session.get_credentials()
        if credentials is not None and credentials.get_frozen_credentials().access_key:
            return None
    except BotoCoreError as err:  # a named profile that is missing, an expired SSO token...
        return f"{NO_CREDENTIALS} ({err})"
    return NO_CREDENTIALS


def _deploy_command(args: argparse.Namespace) -> int:
    import boto3

    from data_platform.cdc.warehouse_files import WarehouseFilesError
    from data_platform.config import ConfigError
    from data_platform.deploy.environments import load_environments, shares
    from data_platform.deploy.integrity import IntegrityError, check_bundle
    from data_platform.spark.artifacts import open_store
    from spark_jobs.cdc.table_config import TableConfigError

    try:
        config = load_environments(args.config)
        for name in args.environment or []:
            config.environment(name)  # an unknown name is an error before anything runs
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problem = credentials_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        bundle = build_bundle()
    except (TableConfigError, WarehouseFilesError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    selected = [
        s for s in shares(bundle, config) if not args.environment or s.environment.name in args.environment
    ]
    status = 0
    for share in selected:
        env = share.environment
        try:
            report = check_bundle(share.bundle)
        except IntegrityError as err:
            print(f"environment {env.name}: {err}", file=sys.stderr)
            return 1
        print(f"environment {env.name}: {', '.join(share.units)} -> DAGs {', '.join(sorted(report['dags']))}")
        s3 = boto3.client("s3", region_name=env.region)
        mwaa = boto3.client("mwaa", region_name=env.region)
        store = open_store(env.artifacts_root, region=env.region) if env.artifacts_root else None
        jobs = {t["job"] for dag in report["dags"].values() for t in dag["spark_jobs"].values()}
        plan = plan_deploy(s3, mwaa, env.bucket, env.name, share.bundle, store, jobs)
        print(describe(plan))
        if not args.apply:
            continue
        try:
            result = apply_plan(s3, mwaa, plan, share.bundle, store)
        except EnvironmentBusy as busy:
            print(busy, file=sys.stderr)
            status = 75  # EX_TEMPFAIL: try again later
            continue
        print(json.dumps(result.__dict__, indent=2, default=str))
    if not args.apply:
        print("dry run: nothing was changed; rerun with --apply to make these changes.")
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_platform.deploy.mwaa",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["deploy", "trigger", "backfill"])
    parser.add_argument(
        "--environment",
        action="append",
        help="MWAA environment name (deploy: repeat to pick several; default every configured one)",
    )
    parser.add_argument(
        "--config", type=Path, default=ENVIRONMENTS_CONFIG, help="environments config (deploy)"
    )
    parser.add_argument("--apply", action="store_true", help="deploy: make the changes (default: dry run)")
    parser.add_argument("--region")
    parser.add_argument("--dag-id")
    parser.add_argument("--logical-date")
    parser.add_argument("--conf", default="{}")
    parser.add_argument("--from-date")
    parser.add_argument("--to-date")
    parser.add_argument("--reprocess-behavior", default="none", choices=["none", "failed", "completed"])
    args = parser.parse_args(argv)
    if args.command == "deploy":
        return _deploy_command(args)
    if not args.environment or len(args.environment) != 1:
        parser.error(f"{args.command} needs one --environment")
    problem = credentials_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    import boto3

    mwaa = boto3.client("mwaa", region_name=args.region)
    environment = args.environment[0]
    if args.command == "trigger":
        if not args.dag_id:
            parser.error("trigger needs --dag-id")
        answer = trigger(mwaa, environment, args.dag_id, args.logical_date, json.loads(args.conf))
    else:
        if not (args.dag_id and args.from_date and args.to_date):
            parser.error("backfill needs --dag-id, --from-date and --to-date")
        answer = backfill(
            mwaa, environment, args.dag_id, args.from_date, args.to_date, args.reprocess_behavior
        )
    print(json.dumps(answer, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
