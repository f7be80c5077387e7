"""Run telemetry_app under hypercorn: `python -m tests.integration.observability.serve PORT WORKERS [MULTIPROC_DIR]`.

With a multiprocess directory it does what the service's `serve` does before the
workers start: `prepare_multiprocess_dir` in the parent.
"""

from __future__ import annotations

import sys

from hypercorn.config import Config
from hypercorn.run import run

from observability import prepare_multiprocess_dir


def main(argv: list[str]) -> int:
    port, workers = int(argv[0]), int(argv[1])
    if len(argv) > 2:
        prepare_multiprocess_dir(argv[2])
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.workers = workers
    config.application_path = "tests.integration.observability.telemetry_app:app"
    config.graceful_timeout = 5
    return run(config)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
