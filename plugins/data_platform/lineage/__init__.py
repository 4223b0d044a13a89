"""Lineage: where OpenLineage events go (``transport``), and what the platform makes of them.

``transport``: the OpenLineage transport of an environment from include/lineage/transport.yaml
(raw events as files in the lake, HTTP to Marquez / DataHub, or both); ``validation``: events
against the OpenLineage schema, bad ones quarantined with the reason; ``columns``: the
column-level lineage table (edges) from events and from the warehouse SQL (``sql``); ``graph``:
upstream / downstream walks and the picture; ``processing``: the processing run of the lineage
DAG; ``catalog``: the push of the column lineage to the catalogs; ``compliance``: Spark job
runs without lineage; ``naming``: dataset names (a copy of ``spark_jobs/common/naming.py``).
``python -m data_platform.lineage --help`` answers the questions.
"""
