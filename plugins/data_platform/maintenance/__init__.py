"""Airflow metadata maintenance as MWAA allows it on Airflow 3: cleanup through the Airflow CLI
(``airflow db clean``) and a metadata export/import through the public REST API (v2).

Airflow 3 tasks cannot open the metadata DB (the Task SDK talks to the API server only), so
nothing here imports Airflow's ORM: ``cleanup`` runs the CLI (MWAA's CLI endpoint on aws, a local
``airflow`` process locally) and ``metadata_export`` talks to the REST API (MWAA ``InvokeRestApi``
on aws, the API server over HTTP locally).
"""
