"""A small HTTP load generator: a fixed number of clients, each a thread with its own keep-alive
connection (http.client), sending requests for a duration or until a number of them is done.

    from bench.load import Request, run_load
    summary = run_load(port, lambda client, n: Request("GET", "/livez"), clients=8, seconds=10)
    summary["rate"], summary["p50_ms"], summary["p99_ms"], summary["errors"]

`make` is called by each client with its number and a count of its own requests, and returns the
request to send; a request whose answer is not its `expect` status (or that fails on the wire) is
an error, and its connection is opened again. Requests answered during the warm-up are not counted.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200


def percentile(sorted_times: list[float], fraction: float) -> float:
    if not sorted_times:
        return 0.0
    return sorted_times[min(len(sorted_times) - 1, int(len(sorted_times) * fraction))]


def run_load(
    port: int,
    make: Callable[[int, int], Request],
    *,
    clients: int = 8,
    seconds: float | None = 10.0,
    requests: int | None = None,
    warm: float = 1.0,
    host: str = "127.0.0.1",
) -> dict:
    """Send the load and return `rate` (good answers a second), p50/p95/p99 in ms, `errors`,
    `count`, `seconds` (measured, after the warm-up) and the sorted `times` in seconds."""
    if seconds is None and requests is None:
        raise ValueError("give seconds or requests")
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    started = time.perf_counter()
    counting_from = started + warm
    stop_at = counting_from + seconds if seconds is not None else float("inf")
    left = [requests if requests is not None else -1]

    def take_one() -> bool:
        if requests is None:
            return True
        with lock:
            if left[0] <= 0:
                return False
            left[0] -= 1
            return True

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=120)
        n = 0
        mine: list[float] = []
        failed = 0
        while time.perf_counter() < stop_at:
            warming = time.perf_counter() < counting_from
            if not warming and not take_one():
                break
            request = make(number, n)
            n += 1
            begin = time.perf_counter()
            try:
                connection.request(request.method, request.path, request.body, request.headers)
                response = connection.getresponse()
                response.read()
                good = response.status == request.expect
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=120)
                good = False
            if begin < counting_from:
                continue
            if good:
                mine.append(time.perf_counter() - begin)
            else:
                failed += 1
        connection.close()
        with lock:
            times.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - max(counting_from, started)
    times.sort()
    return {
        "count": len(times),
        "seconds": elapsed,
        "rate": len(times) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": 1000 * statistics.median(times) if times else 0.0,
        "p95_ms": 1000 * percentile(times, 0.95),
        "p99_ms": 1000 * percentile(times, 0.99),
        "errors": errors[0],
        "times": times,
    }


def wait_for(port: int, process: subprocess.Popen, path: str = "/", seconds: float = 60) -> None:
    """Until the server on `port` answers `GET path` with anything at all (it is listening and
    its workers are up); RuntimeError if `process` exits first or nothing answers in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")
