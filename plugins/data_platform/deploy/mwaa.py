"""Deploy to Amazon MWAA by S3 sync, and trigger or backfill DAG runs through its REST API.

    python -m data_platform.deploy.mwaa deploy   --environment NAME --bucket BUCKET
    python -m data_platform.deploy.mwaa trigger  --environment NAME --dag-id ID [--conf JSON]
    python -m data_platform.deploy.mwaa backfill --environment NAME --dag-id ID \
        --from-date 2026-01-01 --to-date 2026-01-31 [--reprocess-behavior failed]

``deploy`` mirrors dags/ (and include/ as dags/include/) to ``s3://BUCKET/dags/``, uploads
plugins.zip, requirements.txt and the startup script, and calls UpdateEnvironment with the new S3
object versions only when one of those three changed (MWAA restarts on every update).
Credentials come from the usual boto3 chain (profile, SSO, role).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_platform.deploy.bundle import dag_files, plugins_zip
from data_platform.paths import REPO_ROOT

DAGS_PREFIX = "dags/"
PLUGINS_KEY = "plugins.zip"
REQUIREMENTS_KEY = "requirements.txt"
STARTUP_KEY = "startup.sh"


@dataclass
class DeployResult:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    environment_update: dict[str, Any] | None = None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _existing_etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    etags = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            etags[item["Key"]] = item["ETag"].strip('"')
    return etags


def _put_if_changed(s3: Any, bucket: str, key: str, body: bytes, result: DeployResult) -> str | None:
    """Upload ``body`` unless the object already has these bytes; return the new version id."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head["ETag"].strip('"') == _md5(body):
            result.unchanged += 1
            return None
    except s3.exceptions.ClientError as err:
        if err.response["Error"]["Code"] not in ("404", "NoSuchKey"):
            raise
    response = s3.put_object(Bucket=bucket, Key=key, Body=body)
    result.uploaded.append(key)
    return response.get("VersionId")


def deploy(s3: Any, mwaa: Any, bucket: str, environment: str, repo_root: Path = REPO_ROOT) -> DeployResult:
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise RuntimeError(
            f"Bucket {bucket} has no versioning; MWAA needs it (enable it on the bucket first)."
        )
    result = DeployResult()
    local = {DAGS_PREFIX + key: path.read_bytes() for key, path in dag_files(repo_root).items()}
    remote = _existing_etags(s3, bucket, DAGS_PREFIX)
    for key, body in sorted(local.items()):
        if remote.get(key) == _md5(body):
            result.unchanged += 1
        else:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            result.uploaded.append(key)
    for key in sorted(set(remote) - set(local)):
        s3.delete_object(Bucket=bucket, Key=key)
        result.deleted.append(key)

    versions = {
        "PluginsS3ObjectVersion": _put_if_changed(
            s3, bucket, PLUGINS_KEY, plugins_zip(repo_root / "plugins"), result
        ),
        "RequirementsS3ObjectVersion": _put_if_changed(
            s3, bucket, REQUIREMENTS_KEY, (repo_root / "requirements.txt").read_bytes(), result
        ),
        "StartupScriptS3ObjectVersion": _put_if_changed(
            s3, bucket, STARTUP_KEY, (repo_root / "include/mwaa/startup.sh").read_bytes(), result
        ),
    }
    changed = {name: version for name, version in versions.items() if version}
    if changed:
        update = {
            "Name": environment,
            "DagS3Path": DAGS_PREFIX.rstrip("/"),
            "PluginsS3Path": PLUGINS_KEY,
            "RequirementsS3Path": REQUIREMENTS_KEY,
            "StartupScriptS3Path": STARTUP_KEY,
        }
        for name in versions:  # every path needs its current version, changed or not
            update[name] = (
                versions[name]
                or s3.head_object(Bucket=bucket, Key=update[name.replace("ObjectVersion", "Path")])[
                    "VersionId"
                ]
            )
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
        result = deploy(boto3.client("s3", region_name=args.region), mwaa, args.bucket, args.environment)
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
