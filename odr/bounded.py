"""Running costly work on untrusted input in a child process bounded in time, CPU and memory.

Three jobs run here: rendering a document (`odr.documents.render`), inspecting an uploaded PDF
(`odr.evidence.pdf_inspection`) and inspecting an uploaded photo or video, making a photo's
thumbnail (`odr.evidence.media`). Each child comes from a "forkserver": forked from a small
single-threaded server started once, which has these modules imported already (and WeasyPrint
warmed by `odr.documents.warm`). "fork" would copy the calling process — its threads' held locks,
its database connections, its whole address space counted against the limit; "spawn" would be as
clean but would start an interpreter and import everything for every job. A child costs about
20 ms; the first one waits for the server to start (1.5-3 s, WeasyPrint's warm-up render).

The child sets its own limits before it runs the job: RLIMIT_AS (its address space, so an
allocation past `memory_mb` fails inside it) and RLIMIT_CPU (the kernel stops it once it has
used `seconds` of CPU). The parent also waits at most `seconds` of wall time, then kills it.
Nothing the job does can grow the calling process: only its pickled answer comes back. A
process runs at most one child per core at a time (a threaded server's other requests wait for a
slot), so concurrent uploads cannot multiply the memory bound past what the host has.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from typing import Any, Literal

# The modules whose jobs run in the children, imported once by the forkserver.
PRELOAD = ["odr.documents.warm", "odr.evidence.pdf_inspection", "odr.evidence.media"]
_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 1)


class OutOfBounds(Exception):
    """The job ran past a bound and was stopped: `bound` tells which, `exit_code` how it died."""

    def __init__(
        self, bound: Literal["time", "memory", "died"], exit_code: int | None = None
    ) -> None:
        super().__init__(bound, exit_code)
        self.bound = bound
        self.exit_code = exit_code


def run_bounded(
    job: Callable[..., Any],
    *args: Any,
    seconds: float = 60,
    memory_mb: int = 1024,
    **kwargs: Any,
) -> Any:
    """`job(*args, **kwargs)` in a child process limited to `seconds` (of CPU and of wall time)
    and `memory_mb` of address space.

    Raises OutOfBounds("time") when the child runs past `seconds` (killed by the parent, or by
    the kernel's CPU limit), OutOfBounds("memory") when it runs out of its `memory_mb`
    (MemoryError in the child), OutOfBounds("died") when it ends without an answer (C libraries
    such as GLib abort rather than raise when an allocation fails). Any other exception is
    raised again here. `job`, its arguments and its answer must be picklable (a module-level
    function, not a closure).
    """
    with _SLOTS:
        return _run_child(job, args, kwargs, seconds, memory_mb)


def _run_child(
    job: Callable[..., Any], args: tuple, kwargs: dict, seconds: float, memory_mb: int
) -> Any:
    context = _context()
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(
        target=_run_in_child, args=(writer, seconds, memory_mb, job, args, kwargs), daemon=True
    )
    child.start()
    writer.close()
    try:
        if not reader.poll(seconds):
            raise OutOfBounds("time")
        try:
            outcome, value = reader.recv()
        except EOFError:
            child.join()
            if child.exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
                raise OutOfBounds("time", child.exitcode) from None
            raise OutOfBounds("died", child.exitcode) from None
    finally:
        reader.close()
        if child.is_alive():
            child.kill()
        child.join()
    if outcome == "memory":
        raise OutOfBounds("memory")
    if outcome == "error":
        raise value
    return value


@functools.cache
def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _run_in_child(
    writer: Any,
    seconds: float,
    memory_mb: int,
    job: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = math.ceil(seconds)  # SIGXCPU at the soft limit ends the process; SIGKILL one second on
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        writer.send(("done", job(*args, **kwargs)))
    except MemoryError:
        writer.send(("memory", None))
    except Exception as exc:  # raised again in the parent
        try:
            writer.send(("error", exc))
        except Exception:  # not picklable: its name and message still tell what happened
            writer.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        writer.close()
