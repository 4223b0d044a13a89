"""Column lineage of a Jira sync: the Jira Cloud REST API -> the landed records.

The sync (a pod task, :mod:`spark_jobs.jira.extract`) lands the issues as the search returns
them, so each landed field is the API field at the same path: ``issue.fields.status.name`` in
a search page line is ``fields.status.name`` of an issue of ``POST /rest/api/3/search/jql``,
``history.items.toString`` in a full changelog line is ``values.items.toString`` of
``GET /rest/api/3/issue/{issueIdOrKey}/changelog``. The API endpoints are datasets named as
HTTP endpoints (:mod:`spark_jobs.common.naming`: ``https://<site>.atlassian.net`` + path).
Only the fields the Jira tables read (:mod:`spark_jobs.jira.lineage`) are mapped.
"""

from __future__ import annotations

import logging

from spark_jobs.common.lake import read_json
from spark_jobs.common.lineage import ColumnSource, LineageDataset, LineageEmitter
from spark_jobs.jira.flatten import FieldMap
from spark_jobs.jira.layout import SiteLayout
from spark_jobs.jira.lineage import table_lineage
from spark_jobs.jira.sync import SEARCH_PATH

log = logging.getLogger(__name__)
CHANGELOG_PATH = "/rest/api/3/issue/{issueIdOrKey}/changelog"
_FROM_SEARCH = "issue."
_FROM_CHANGELOG = "history."


def sync_datasets(
    site_url: str, landing: LineageDataset, field_map: FieldMap
) -> tuple[list[LineageDataset], LineageDataset]:
    """``(API endpoints read, landing with its columnLineage)`` of a committed sync of the site
    whose field catalog gave ``field_map``."""
    search = LineageDataset.from_url(site_url.rstrip("/") + SEARCH_PATH)
    changelog = LineageDataset.from_url(site_url.rstrip("/") + CHANGELOG_PATH)
    landed = sorted(
        {
            source.field
            for mapping, _ in table_lineage(landing, field_map).values()
            for sources in mapping.values()
            for source in sources
        }
    )
    mapping: dict[str, list[ColumnSource]] = {}
    for field in landed:
        if field.startswith(_FROM_SEARCH):
            mapping[field] = [ColumnSource(search, field.removeprefix(_FROM_SEARCH))]
        elif field.startswith(_FROM_CHANGELOG):
            mapping[field] = [ColumnSource(changelog, "values." + field.removeprefix(_FROM_CHANGELOG))]
    return [search, changelog], landing.with_column_lineage(mapping)


def emit_sync_lineage(site_url: str, layout: SiteLayout, sync_date: str, sync_id: str) -> bool:
    """The committed sync's COMPLETE event (job ``jira_sync.<site>``); ``True`` when sent, a
    no-op without a configured OpenLineage transport."""
    emitter = LineageEmitter.from_environment()
    if not emitter.enabled:
        return False
    try:
        catalog = read_json(f"{layout.sync_folder(sync_date, sync_id)}/fields.json")
    except Exception:  # noqa: BLE001 - lineage must never fail a committed sync
        log.warning("Field catalog of sync %s unreadable; no lineage event", sync_id, exc_info=True)
        return False
    inputs, landing = sync_datasets(
        site_url, LineageDataset.from_uri(layout.landing), FieldMap.from_catalog(catalog)
    )
    return emitter.emit("COMPLETE", f"jira_sync.{layout.site}", sync_id, inputs, [landing])
