"""Exit with code 3 before starting Spark (a failing job, cheaply)."""

import sys

if __name__ == "__main__":
    print("tinyjob: refusing to run", file=sys.stderr)
    sys.exit(3)
