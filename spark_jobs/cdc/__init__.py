"""CDC from operational databases (AWS DMS files) into lake tables (Hudi or Parquet snapshots).

Light modules (no pyspark at import): ``table_config``, ``layout``, ``dms_files``, ``file_inspection``,
``tracker``, ``lock``, ``plan``, ``outputs``, ``results``. Spark modules: ``reader``,
``net_change``, ``sinks``, ``merge``, ``merge_job``.
"""
