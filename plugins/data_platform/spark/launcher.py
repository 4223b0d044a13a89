"""Entry point of every Spark job run: ``launcher.py <module> [job args...]``.

Runs ``<module>`` of the job's package (on the Python path through ``--py-files`` on EMR
Serverless, ``PYTHONPATH`` locally) as ``__main__``, so one artifact serves all of a job's entry
points and the job modules keep normal package imports. Standard library only: this file is
shipped inside the artifact and runs on the Spark driver, where Airflow is not installed.
"""

import runpy
import sys


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: launcher.py <module> [args...]")
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
