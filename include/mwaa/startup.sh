#!/bin/sh
# MWAA startup script: runs on every scheduler, worker and web server before Airflow starts (and
# before requirements are installed). Selects the aws target and the block of
# include/platform/environments.yaml (PIPELINE_ENV) from the MWAA environment name, by exact
# name only: an unknown name stops the environment from starting instead of guessing (a name
# such as data-platform-preprod or product-analytics-dev must never be taken for prod).
# Add an environment: one line below plus its block in include/platform/environments.yaml.
export PIPELINE_TARGET=aws
case "${AIRFLOW_ENV_NAME:-}" in
  data-platform-dev) export PIPELINE_ENV=dev ;;
  data-platform-prod | data-platform-prod-cdc) export PIPELINE_ENV=prod ;;
  *)
    echo "startup.sh: MWAA environment '${AIRFLOW_ENV_NAME:-}' is not mapped to a platform environment; add it to include/mwaa/startup.sh" >&2
    exit 1
    ;;
esac
