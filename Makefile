# Local entry points. Everything runs from the checkout with a virtualenv in .venv/.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JVM_STAMP := .jvm/.installed
# plugins/ (the platform, as MWAA's plugins folder) and the checkout root (spark_jobs, for local
# Spark and pod runs and for compiling the bundle); outside make: export the same PYTHONPATH.
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)

.PHONY: demo rerun-check backfill-check test lint bench install jvm airflow lock clean check-images

# `make demo cdc_hourly jira_ingestion`: the words after `demo` name the DAGs to run (not targets)
ifeq (demo,$(firstword $(MAKECMDGOALS)))
DEMO_DAGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
ifneq (,$(DEMO_DAGS))
$(eval $(DEMO_DAGS):;@:)
endif
endif

demo: install  ## run every pipeline once (or the named ones) through Airflow on the local target
	$(PY) -m data_platform.local.demo $(DEMO_DAGS)

rerun-check: install  ## the demo's runs, the same intervals again, then every table's row hashes compared
	$(PY) -m data_platform.local.rerun_check

# `make backfill-check DAYS=7 DAGS="cdc_hourly cdc_daily" RUNS="cdc_hourly=24"` (defaults: 7 days,
# every DAG, every interval: RUNS limits a DAG to its first N intervals)
DAYS ?= 7
backfill-check: install  ## every pipeline backfilled over DAYS days by a local scheduler, then again: row hashes compared
	$(PY) -m data_platform.local.backfill_check --days $(DAYS) $(foreach r,$(RUNS),--runs $(r)) $(DAGS)

test: install  ## lint and type-check, then the whole test suite
	$(VENV)/bin/ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

bench: install  ## benchmarks: figures against a reference measured in the same run
	$(PY) -m benchmarks

check-images: install  ## flag pod images older than the monthly refresh policy
	PLATFORM_INCLUDE_PATH=$(CURDIR)/include $(PY) -m data_platform.pod.images check

airflow: install  ## a local Airflow UI on http://localhost:8080 (no Docker)
	$(PY) -m data_platform.local.runtime standalone

install: $(STAMP) $(JVM_STAMP)
	@# no .pth: paths are set explicitly (PYTHONPATH above, the local runtime, pytest), as on
	@# MWAA; remove the one earlier installs wrote, or the checkout is on every sys.path
	@rm -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/data_platform_checkout.pth"

# the local Spark target's JVM packages (Hudi, S3A, OpenLineage agent), pinned, fetched with Maven
$(JVM_STAMP): include/spark/jvm-packages.yaml $(STAMP)
	PLATFORM_INCLUDE_PATH=$(CURDIR)/include $(PY) -m data_platform.spark.jvm_packages fetch

jvm: $(STAMP)  ## fetch the JVM packages that are missing or differ from their pins (then verify all)
	PLATFORM_INCLUDE_PATH=$(CURDIR)/include $(PY) -m data_platform.spark.jvm_packages fetch

$(STAMP): requirements.txt requirements-local.txt requirements-dev.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	grep -v -- '--constraint' requirements.txt > $(VENV)/requirements-mwaa.txt
	$(VENV)/bin/uv pip install --python $(PY) --quiet \
	  -r $(VENV)/requirements-mwaa.txt -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

# The oldest Python 3.11 the pins must install on: "3.11" would mean 3.11.0 and drop releases that
# need a later patch (soupsieve 4.1.2 needs 3.11.5); existing pins are kept unless --upgrade.
LOCK_PYTHON := 3.11.5

lock:  ## re-resolve and pin everything (needs network to PyPI); reproduces constraints.txt
	grep -v -- '--constraint' requirements.txt > $(VENV)/requirements-mwaa.txt
	$(VENV)/bin/uv pip compile --python-version $(LOCK_PYTHON) $(VENV)/requirements-mwaa.txt requirements-dev.txt \
	  --no-annotate --custom-compile-command "make lock" -o constraints.txt

clean:  ## stop the embedded PostgreSQL and remove local state
	-$(PY) -c "from pathlib import Path; from data_platform.local.postgres import stop_local_postgres as s; s(Path('.local/postgres'))"
	rm -rf .local
