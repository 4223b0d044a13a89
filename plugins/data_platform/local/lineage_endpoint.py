"""A local stand-in of a lineage catalog's HTTP endpoint: records every OpenLineage event.

Accepts ``POST /api/v1/lineage`` (Marquez) and ``POST /openapi/openlineage/api/v1/lineage``
(DataHub) with a JSON event, appends it as one line to the events file and answers ``201``
(``400`` for a body that is not a JSON object, ``404`` for another path). Never deployed.
It listens on a free port (several demos or test runs at once never collide); the ``local``
block of include/lineage/transport.yaml reads its URL from ``LINEAGE_LOCAL_CATALOG_URL``, which
``make demo`` sets (run by hand: export the URL it prints before starting Airflow).

    python -m data_platform.local.lineage_endpoint [--port 0] [--events .local/lineage/catalog/events.jsonl]
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from data_platform.lineage.transport import ENDPOINTS
from data_platform.paths import local_dir

PATHS = {"/" + endpoint for endpoint in ENDPOINTS.values()}
CATALOG_URL_ENV = "LINEAGE_LOCAL_CATALOG_URL"  # the `local` block of include/lineage/transport.yaml names it


def default_events_file() -> Path:
    return local_dir() / "lineage" / "catalog" / "events.jsonl"


def _handler(events_file: Path, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?")[0] not in PATHS:
                self.send_error(404, f"unknown path; use one of {sorted(PATHS)}")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = json.loads(body)
            except json.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.send_error(400, "the body is not a JSON object")
                return
            with lock:
                events_file.parent.mkdir(parents=True, exist_ok=True)
                with events_file.open("a") as handle:
                    handle.write(json.dumps(event, sort_keys=True) + "\n")
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
            return

    return Handler


@contextmanager
def serving(events_file: Path, port: int = 0) -> Iterator[str]:
    """Serve in a thread while the block runs; yields the base URL (``port=0``: a free port)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(events_file, threading.Lock()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument("--events", type=Path, default=None)
    args = parser.parse_args(argv)
    events_file = args.events or default_events_file()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(events_file, threading.Lock()))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"recording OpenLineage events posted to {url}{sorted(PATHS)} in {events_file}")
    print(f"export {CATALOG_URL_ENV}={url}  # before starting Airflow (make airflow)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
