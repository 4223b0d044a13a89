"""Sleep without starting Spark (a job that outlives its execution_timeout).

``sleep.py [MARKER]``: after announcing itself, create the file MARKER, so a test knows the job
is running without guessing how long spark-submit takes to start.
"""

import sys
import time
from pathlib import Path

if __name__ == "__main__":
    print("tinyjob: sleeping", flush=True)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).touch()
    time.sleep(300)
