"""The Jira Cloud ingestion pipeline's Airflow side (config at parse time, task arguments)."""
