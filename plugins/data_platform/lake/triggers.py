"""Trigger for the deferrable lake sensors on S3 (runs on the triggerer, not on a worker).

The amazon provider's ``S3KeyTrigger`` fires as soon as any key matches, including files that
were already processed, which would bounce the task between triggerer and worker. This trigger
applies the platform's own rule (data files, matching the pattern, optionally without a
processed marker, at least N of them) with the provider's async S3 hook before it fires.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from data_platform.lake import markers, storage


class LakeFilesTrigger(BaseTrigger):
    """Fire when at least ``min_files`` data files under ``prefix_uri`` satisfy the rule."""

    def __init__(
        self,
        *,
        prefix_uri: str,
        pattern: str,
        lake_root: str,
        min_files: int,
        consumer: str | None,
        aws_conn_id: str | None,
        region_name: str | None = None,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.prefix_uri = prefix_uri
        self.pattern = pattern
        self.lake_root = lake_root
        self.min_files = min_files
        self.consumer = consumer
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "prefix_uri": self.prefix_uri,
                "pattern": self.pattern,
                "lake_root": self.lake_root,
                "min_files": self.min_files,
                "consumer": self.consumer,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "poke_interval": self.poke_interval,
            },
        )

    async def _list(self, hook: Any, client: Any, prefix_uri: str) -> list[tuple[str, int]]:
        bucket, _, key = prefix_uri.removeprefix("s3://").partition("/")
        key = key.rstrip("/") + "/" if key else ""
        return [
            (f"s3://{bucket}/{row['Key']}", int(row.get("Size") or 0))
            async for row in hook.get_file_metadata_async(client, bucket, key)
        ]

    async def _pending(self, hook: Any, client: Any) -> list[storage.LakeFile]:
        listing = await self._list(hook, client, self.prefix_uri)
        files = storage.filter_listing(self.prefix_uri, listing, self.pattern)
        if self.consumer is None:
            return files
        prefix = markers.relative_prefix(self.prefix_uri, self.lake_root)
        marker_dir = storage.join(self.lake_root, markers.MARKER_FOLDER, self.consumer, prefix)
        processed = set()
        for uri, _ in await self._list(hook, client, marker_dir):
            relative = markers.file_relative_path_of_marker(
                self.consumer, storage.relative_to(uri, self.lake_root)
            )
            if relative is not None:
                processed.add(relative)
        return markers.without_processed(files, processed, self.lake_root)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        try:
            async with await hook.get_async_conn() as client:
                while True:
                    pending = await self._pending(hook, client)
                    if len(pending) >= self.min_files:
                        yield TriggerEvent({"status": "success", "files": [f.uri for f in pending]})
                        return
                    self.log.info(
                        "%d of %d file(s) under %s; sleeping %ss",
                        len(pending),
                        self.min_files,
                        self.prefix_uri,
                        self.poke_interval,
                    )
                    await asyncio.sleep(self.poke_interval)
        except Exception as err:  # noqa: BLE001 - reported to the task, which fails with it
            yield TriggerEvent({"status": "error", "message": f"{type(err).__name__}: {err}"})
