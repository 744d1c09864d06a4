"""Serves the shop: ``python -m webapp --port 0`` (from examples/python).

Prints ``listening on http://127.0.0.1:PORT`` once it accepts connections (port 0 picks a free
one), so a script can start it and read where it landed. Collector keys and URLs come from
``TRACKLANE_WEBANALYZER_*`` and ``TRACKLANE_SILKTIDE_*`` (``..._BASE_URL``,
``..._ENDPOINT_URL`` to point them at a local collector). On SIGTERM or Ctrl-C it stops taking
requests, then delivers what is still queued before exiting.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Optional

from werkzeug.serving import make_server

from . import create_app
from .tracking import EXTENSION, Tracking


def _stop(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    args = parser.parse_args(argv)

    app = create_app()
    tracking: Tracking = app.extensions[EXTENSION]
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, _stop)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        reports = tracking.close(10)
        delivered = sum(r["delivered"] for r in reports)
        unsent = sum(r["failed"] + r["pending"] for r in reports)
        print(f"stopped: delivered {delivered} events at shutdown, {unsent} not delivered", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
