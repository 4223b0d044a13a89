"""Ship the logs EMR Serverless writes to S3 for Spark job runs to the Datadog logs intake.

Light modules (no pyspark at import): ``layout`` (where the files are), ``gzip_text`` (reading a
possibly still-growing gzip), ``parser`` (log4j / JSON / stack-trace records), ``entries``
(Datadog log entries, tags and size limits), ``intake`` (``datadog-api-client`` with retries),
``checkpoint`` (per-file progress in the lake), ``shipper`` (one job run, exactly-once effect),
``api_key`` (the secret), ``ship_run`` (one run from a pod/process). Spark: ``sweep_job``.
"""
