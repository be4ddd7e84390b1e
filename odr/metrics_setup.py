"""What gunicorn's master does for the metrics (`odr.metrics`) before any worker starts.

prometheus_client decides when it is first imported whether a process counts in memory or in files
under `PROMETHEUS_MULTIPROC_DIR`, so this module imports none of it until a worker has exited: the
config file calls `prepare_multiprocess_dir` at its top, before the app (and prometheus_client) is
imported, in the master and so in every worker forked from it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(path: str | Path) -> Path:
    """Empty (or make) the directory and name it in the environment."""
    directory = Path(path)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_DIR] = str(directory)
    return directory


def gunicorn_child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` hook: a dead worker's live gauges are no longer reported (its
    counters stay: they are part of the totals)."""
    if os.environ.get(MULTIPROC_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
