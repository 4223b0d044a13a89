"""Sleep (a job that outlives its execution_timeout).

``sleep.py [MARKER [--spark]]``: after announcing itself (with ``--spark``: after starting a Spark
session and printing where its scratch space is), create the file MARKER, so a test knows the job
is running without guessing how long spark-submit takes to start.
"""

import sys
import time
from pathlib import Path

if __name__ == "__main__":
    print("tinyjob: sleeping", flush=True)
    if "--spark" in sys.argv[2:]:
        from pyspark import SparkFiles
        from pyspark.sql import SparkSession

        SparkSession.builder.getOrCreate()
        print(f"tinyjob: scratch {SparkFiles.getRootDirectory()}", flush=True)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).touch()
    time.sleep(300)
