"""The CDC pipeline's orchestration glue: table configs by cadence, the arguments of the plan and
merge jobs, and the per-table hand-over from a merge result to the warehouse load.

The merge itself lives in ``spark_jobs.cdc`` (runs on EMR Serverless / local Spark).
"""
