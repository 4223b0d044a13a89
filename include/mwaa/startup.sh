#!/bin/sh
# MWAA startup script (runs on every scheduler, worker and web server before Airflow starts,
# and before requirements are installed). Selects the aws target for the platform; the
# environment block (dev/prod) comes from the MWAA environment name unless set explicitly.
export PIPELINE_TARGET=aws
case "${AIRFLOW_ENV_NAME:-}" in
  *prod*) export PIPELINE_ENV="${PIPELINE_ENV:-prod}" ;;
  *)      export PIPELINE_ENV="${PIPELINE_ENV:-dev}" ;;
esac
