"""Shared helpers for the Spark jobs: session, arguments, lake IO, JSON logging, lineage."""
