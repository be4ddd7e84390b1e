"""Serve the app on a local port in a process of its own, for the attack suite.

The configuration arrives as JSON in `ODR_SERVE_CONFIG` (merged over the environment's), the port
as the first argument. Prints `ready` once the socket listens, then serves until killed.
"""

from __future__ import annotations

import json
import os
import sys

from werkzeug.serving import make_server

from odr import create_app


def main() -> None:
    port = int(sys.argv[1])
    app = create_app(json.loads(os.environ.get("ODR_SERVE_CONFIG", "{}")))
    server = make_server("127.0.0.1", port, app, threaded=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
