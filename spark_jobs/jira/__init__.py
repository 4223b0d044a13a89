"""Jira Cloud ingestion: a sync job (pod task, no Spark) that lands issues as returned by the
REST API v3, and a Spark job that builds the raw, reporting and status-history tables."""
