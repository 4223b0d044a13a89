"""The satellite time-series pipeline's Airflow side: its configuration and the hand-over from
the extraction job's day result to the warehouse load (spark_jobs.satellite does the work)."""
