"""Sleep without starting Spark (a job that outlives its execution_timeout)."""

import time

if __name__ == "__main__":
    print("tinyjob: sleeping", flush=True)
    time.sleep(300)
