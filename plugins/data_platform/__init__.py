"""The data platform: operators, sensors, warehouse loading and checks shared by every pipeline.

Ships to MWAA as ``plugins.zip`` (built from inside ``plugins/``) and is importable locally
because Airflow puts the plugins folder on ``sys.path``.
"""
