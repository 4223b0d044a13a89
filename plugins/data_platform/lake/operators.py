"""Operator that admits newly arrived lake files (accepted/ or rejected/, alert on rejects)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from data_platform.alerting import ALERT_POLICY_STANDARD, AlertEvent, AlertPolicy


class AdmitLakeFilesOperator(BaseOperator):
    """Check new files and move each to ``accepted/`` or ``rejected/`` (see ``lake.admission``).

    Rejected files are reported through ``alert_policy`` (event ``rejected_input``) with their
    reasons. Returns ``{"accepted": [uri...], "rejected": [{"uri", "reason"}...], "files_in",
    "files_accepted", "files_rejected"}``; feed ``.output["accepted"]`` to the loader::

        admit = AdmitLakeFilesOperator(task_id="admit", source_uris=wait.output,
                               name_pattern=r"events_\\d{8}\\.parquet", required_columns=["event_id"])
    """

    template_fields: Sequence[str] = ("source_uris", "name_pattern")

    def __init__(
        self,
        *,
        source_uris: Any,
        name_pattern: str | None = None,
        min_size_bytes: int = 1,
        max_size_bytes: int | None = None,
        file_format: str | None = None,
        required_columns: Sequence[str] = (),
        csv_delimiter: str = ",",
        received_dir: str = "received",
        alert_policy: AlertPolicy = ALERT_POLICY_STANDARD,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)  # admit.output["accepted"] in DAGs
        super().__init__(**kwargs)
        self.source_uris = source_uris
        self.name_pattern = name_pattern
        self.min_size_bytes = min_size_bytes
        self.max_size_bytes = max_size_bytes
        self.file_format = file_format
        self.required_columns = tuple(required_columns)
        self.csv_delimiter = csv_delimiter
        self.received_dir = received_dir
        self.alert_policy = alert_policy

    def execute(self, context: Any) -> dict[str, Any]:
        from data_platform.alerting import send_alert
        from data_platform.lake.admission import AdmissionRules, admit_files
        from data_platform.lake.storage import as_uri_list

        rules = AdmissionRules(
            name_pattern=self.name_pattern,
            min_size_bytes=self.min_size_bytes,
            max_size_bytes=self.max_size_bytes,
            file_format=self.file_format,
            required_columns=self.required_columns,
            csv_delimiter=self.csv_delimiter,
        )
        uris = as_uri_list(self.source_uris)
        result = admit_files(uris, rules, self.received_dir)
        rejected = [{"uri": r.uri, "reason": r.reason} for r in result.rejected]
        for item in rejected:
            self.log.warning("Rejected %s: %s", item["uri"], item["reason"])
        if rejected:
            send_alert(
                self.alert_policy,
                AlertEvent.REJECTED_INPUT,
                subject=f"{len(rejected)} input file(s) rejected by {self.dag_id}.{self.task_id}",
                message="\n".join(f"{r['uri']}: {r['reason']}" for r in rejected),
                details={"dag_id": self.dag_id, "task_id": self.task_id, "rejected": rejected},
                context=context,
            )
        self.log.info("Admitted %d of %d file(s)", len(result.accepted), len(uris))
        return {
            "accepted": result.accepted,
            "rejected": rejected,
            "files_in": len(uris),
            "files_accepted": len(result.accepted),
            "files_rejected": len(rejected),
        }
