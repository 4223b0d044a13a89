"""Deploy to Amazon MWAA by S3 sync, and trigger or backfill DAG runs through its REST API.

    python -m data_platform.deploy.mwaa deploy   --environment NAME --bucket BUCKET
    python -m data_platform.deploy.mwaa trigger  --environment NAME --dag-id ID [--conf JSON]
    python -m data_platform.deploy.mwaa backfill --environment NAME --dag-id ID \
        --from-date 2026-01-01 --to-date 2026-01-31 [--reprocess-behavior failed]

``deploy`` uploads the bundle of ``data_platform.deploy.bundle`` (the exact bytes the tests
parse): it mirrors the dags folder to ``s3://BUCKET/dags/`` (objects gone locally are deleted),
uploads plugins.zip, requirements.txt and the startup script when their content changed, then
compares the environment's current object versions (``GetEnvironment``) with the versions that
hold this bundle and calls ``UpdateEnvironment`` only when they differ. The comparison is with
the environment, not with "did this run upload something", so a deploy whose update failed
(e.g. the environment was busy) is finished by the next run. Content is compared through a
SHA-256 stored as object metadata (``x-amz-meta-sha256``), never the ETag, which is not the MD5
of the bytes on SSE-KMS buckets. Credentials come from the usual boto3 chain (profile, SSO, role).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_platform.deploy.bundle import Bundle, build_bundle
from data_platform.paths import REPO_ROOT

DAGS_PREFIX = "dags/"
PLUGINS_KEY = "plugins.zip"
REQUIREMENTS_KEY = "requirements.txt"
STARTUP_KEY = "startup.sh"
HASH_METADATA = "sha256"
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


@dataclass
class DeployResult:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
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


def _put_if_changed(s3: Any, bucket: str, key: str, body: bytes, result: DeployResult) -> str | None:
    """Upload ``body`` unless the latest object already holds it; return the version holding it."""
    digest = sha256(body)
    stored, version = _stored_hash(s3, bucket, key)
    if stored == digest:
        result.unchanged += 1
        return version
    response = s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={HASH_METADATA: digest})
    result.uploaded.append(key)
    return response.get("VersionId")


def _remote_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def sync_dags(s3: Any, bucket: str, dags: dict[str, bytes], result: DeployResult) -> None:
    """Mirror the bundle's dags folder to ``s3://bucket/dags/`` (MWAA syncs it to the workers)."""
    local = {DAGS_PREFIX + key: body for key, body in dags.items()}
    remote = _remote_keys(s3, bucket, DAGS_PREFIX)
    for key, body in sorted(local.items()):
        _put_if_changed(s3, bucket, key, body, result)
    for key in sorted(set(remote) - set(local)):
        s3.delete_object(Bucket=bucket, Key=key)
        result.deleted.append(key)


def deploy(
    s3: Any,
    mwaa: Any,
    bucket: str,
    environment: str,
    bundle: Bundle | None = None,
    repo_root: Path = REPO_ROOT,
) -> DeployResult:
    """Upload ``bundle`` (default: the checkout's) and bring ``environment`` to it; see the module doc.

    Raises RuntimeError for a bucket without versioning and :class:`EnvironmentBusy` when the
    environment needs an update but is busy (nothing is lost: the next run finishes the update).
    """
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise RuntimeError(
            f"Bucket {bucket} has no versioning; MWAA needs it (enable it on the bucket first)."
        )
    bundle = bundle or build_bundle(repo_root)
    result = DeployResult()
    sync_dags(s3, bucket, bundle.dags, result)
    bodies = {
        PLUGINS_KEY: bundle.plugins_zip,
        REQUIREMENTS_KEY: bundle.requirements,
        STARTUP_KEY: bundle.startup_script,
    }
    wanted: dict[str, Any] = {"DagS3Path": DAGS_PREFIX.rstrip("/")}
    for path_field, version_field, key in _OBJECTS:
        wanted[path_field] = key
        wanted[version_field] = _put_if_changed(s3, bucket, key, bodies[key], result)
    current = mwaa.get_environment(Name=environment)["Environment"]
    if all(current.get(name) == value for name, value in wanted.items()):
        return result
    status = current.get("Status")
    if status in _BUSY:
        raise EnvironmentBusy(
            f"MWAA environment {environment} is {status}; the new objects are uploaded, rerun deploy "
            "when it is AVAILABLE to point the environment at them."
        )
    update = {"Name": environment, **wanted}
    mwaa.update_environment(**update)
    result.environment_update = update
    return result


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


def main(argv: list[str]) -> int:
    import boto3

    parser = argparse.ArgumentParser(
        prog="python -m data_platform.deploy.mwaa",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["deploy", "trigger", "backfill"])
    parser.add_argument("--environment", required=True, help="MWAA environment name")
    parser.add_argument("--region")
    parser.add_argument("--bucket", help="MWAA source bucket (deploy)")
    parser.add_argument("--dag-id")
    parser.add_argument("--logical-date")
    parser.add_argument("--conf", default="{}")
    parser.add_argument("--from-date")
    parser.add_argument("--to-date")
    parser.add_argument("--reprocess-behavior", default="none", choices=["none", "failed", "completed"])
    args = parser.parse_args(argv)
    mwaa = boto3.client("mwaa", region_name=args.region)
    if args.command == "deploy":
        if not args.bucket:
            parser.error("deploy needs --bucket")
        try:
            result = deploy(boto3.client("s3", region_name=args.region), mwaa, args.bucket, args.environment)
        except EnvironmentBusy as busy:
            print(busy, file=sys.stderr)
            return 75  # EX_TEMPFAIL: try again later
        print(json.dumps(result.__dict__, indent=2, default=str))
    elif args.command == "trigger":
        print(
            json.dumps(
                trigger(mwaa, args.environment, args.dag_id, args.logical_date, json.loads(args.conf)),
                indent=2,
            )
        )
    else:
        if not (args.dag_id and args.from_date and args.to_date):
            parser.error("backfill needs --dag-id, --from-date and --to-date")
        print(
            json.dumps(
                backfill(
                    mwaa, args.environment, args.dag_id, args.from_date, args.to_date, args.reprocess_behavior
                ),
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
