"""gunicorn's worker class, measured: sync against gthread under a realistic mix.

    python -m bench.serve                    # sync 2, gthread 2x4, sync 5, gthread 5x4
    python -m bench.serve --seconds 10 --shape sync:2 --shape gthread:2:4
    python -m bench.serve --write            # also rewrite the section in docs/benchmarks.md

The production shape on this machine: gunicorn started with `odr/gunicorn_conf.py` on a free
port, PostgreSQL (a database of the benchmark's own), the Redis rate limiter (limits set high
enough never to refuse, so that they are counted but do not stop the load). The load: clients in
two processes, each client a thread with its own keep-alive connection (http.client), three
requests of the dispute page (`GET /disputes/<id>`, logged in) to one lodging through the API
(`POST /api/v1/disputes`, a new dispute each time) for `--seconds` after a warm-up. Reported:
requests a second of each kind, the median and p99 latency, and errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import recreate_postgres  # noqa: E402
from bench.load import wait_for  # noqa: E402
from bench.sweep import write_section  # noqa: E402

NAME = "serve"
DATABASE = "odr_bench_serve"
REDIS = "redis://127.0.0.1:6379/13"
PASSWORD = "correct horse battery"
CLIENTS = 16  # in two processes
PAGES_PER_LODGING = 3
SHAPES = ("sync:2", "gthread:2:4", "sync:5", "gthread:5:4")


def environment(port: int, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ODR_ENV": "production",
        "ODR_SECRET_KEY": "bench-secret-key-" + "s" * 32,
        "ODR_AUDIT_KEY": "bench-audit-key-" + "a" * 32,
        "ODR_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
        "ODR_RATELIMIT_URL": REDIS,
        "ODR_QUEUE_URL": REDIS,  # its own keys beside the limiter's
        "ODR_SINGLE_HOST": "1",  # files in a local folder: the mix uploads none
        "ODR_STORAGE_DIR": str(work / "storage"),
        "ODR_INSTANCE_DIR": str(work),
        "ODR_INSECURE_LOCAL": "1",
        "ODR_BASE_URL": f"http://127.0.0.1:{port}",
        "ODR_PORT": str(port),
        "ODR_SMTP_PORT": "1",  # mail stays in the outbox
        "ODR_RATELIMIT_LODGE": "1000000 per hour",
        "ODR_LOG_FORMAT": "json",
    }


def fresh_database() -> None:
    recreate_postgres(DATABASE)


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, make a claimant with a token and one dispute; return what the clients need."""
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    script = (
        "import json, os\n"
        "from app import app\n"
        "from odr.accounts.services import create_user\n"
        "from odr.accounts.tokens import create_token\n"
        "from tests.factories import lodging_body\n"
        "with app.app_context(), app.test_request_context():\n"
        "    user = create_user(email='claimant@bench.example', name='Bench', role='consumer',\n"
        "        country='CN', language='en', password=os.environ['BENCH_PASSWORD'])\n"
        "    _, token = create_token(user, name='bench')\n"
        "    client = app.test_client()\n"
        "    r = client.post('/api/v1/disputes', json=lodging_body(),\n"
        "        headers={'Authorization': 'Bearer ' + token})\n"
        "    print(json.dumps({'token': token, 'dispute': r.get_json()['id']}))\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script],
        env=env | {"BENCH_PASSWORD": PASSWORD},
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return json.loads(made.stdout.decode().strip().splitlines()[-1])


def start_gunicorn(env: dict[str, str], worker_class: str, workers: int, threads: int):
    shaped = env | {
        "ODR_WORKER_CLASS": worker_class,
        "ODR_WORKERS": str(workers),
        "ODR_THREADS": str(threads),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:odr.gunicorn_conf", "app:app"],
        env=shaped,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(int(env["ODR_PORT"]), process, "/login")
    return process


def log_in(port: int) -> str:
    """The session cookie of the claimant, logged in through the form."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": csrf, "email": "claimant@bench.example", "password": PASSWORD}
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    connection.request("POST", "/login", body=form, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"log-in answered {response.status}")
    cookies = [v.split(";", 1)[0] for k, v in response.getheaders() if k == "Set-Cookie"]
    return "; ".join(c for c in cookies if c.startswith("session="))


def client(port: int, given: dict, stop_at: float, warm_until: float, results: list) -> None:
    from tests.factories import lodging_body

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    page = f"/disputes/{given['dispute']}"
    lodging_headers = {
        "Authorization": f"Bearer {given['token']}",
        "Content-Type": "application/json",
    }
    n = 0
    while (now := time.perf_counter()) < stop_at:
        n += 1
        kind = "lodging" if n % (PAGES_PER_LODGING + 1) == 0 else "page"
        try:
            if kind == "page":
                connection.request("GET", page, headers={"Cookie": given["cookie"]})
            else:
                body = lodging_body(order__reference=f"B-{os.getpid()}-{threading.get_ident()}-{n}")
                connection.request("POST", "/api/v1/disputes", json.dumps(body), lodging_headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == (200 if kind == "page" else 201)
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            ok = False
        if now >= warm_until:
            results.append((kind, time.perf_counter() - now, ok))


def load_process(port: int, given: dict, clients: int, seconds: float, warm: float, out) -> None:
    start = time.perf_counter()
    results: list = []
    threads = [
        threading.Thread(
            target=client, args=(port, given, start + warm + seconds, start + warm, results)
        )
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(results)


def run_load(port: int, given: dict, seconds: float, warm: float = 3.0) -> dict:
    out: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=load_process, args=(port, given, CLIENTS // 2, seconds, warm, out)
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    results = [row for _ in processes for row in out.get()]
    for process in processes:
        process.join()
    summary: dict = {"errors": sum(1 for _, _, ok in results if not ok)}
    for kind in ("page", "lodging"):
        times = sorted(t for k, t, ok in results if k == kind and ok)
        summary[kind] = {
            "rate": len(times) / seconds,
            "p50_ms": 1000 * statistics.median(times) if times else 0,
            "p99_ms": 1000 * times[int(len(times) * 0.99)] if times else 0,
        }
    summary["total_rate"] = summary["page"]["rate"] + summary["lodging"]["rate"]
    return summary


def measure(shape: str, seconds: float) -> dict:
    from tests.conftest import free_port

    kind, workers, *rest = shape.split(":")
    threads = int(rest[0]) if rest else 1
    port = free_port()
    work = Path(f"/tmp/odr-bench-serve-{port}")
    work.mkdir(parents=True, exist_ok=True)
    env = environment(port, work)
    fresh_database()
    subprocess.run(["redis-cli", "-n", "13", "FLUSHDB"], check=True, capture_output=True)
    given = prepare(env)
    process = start_gunicorn(env, kind, int(workers), threads)
    try:
        given["cookie"] = log_in(port)
        summary = run_load(port, given, seconds)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"shape": shape, "workers": int(workers), "threads": threads, **summary}


def table(results: list[dict], seconds: float) -> str:
    lines = [
        f"gunicorn on 127.0.0.1, PostgreSQL, Redis limiter; {CLIENTS} keep-alive clients in two "
        f"processes for {seconds:.0f} s each, {PAGES_PER_LODGING} dispute pages to 1 API lodging; "
        f"{os.cpu_count()} cores shared by server, clients and database.",
        "",
        "| workers | requests/s | pages/s | page p50 / p99 (ms) | lodgings/s "
        "| lodging p50 / p99 (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        label = (
            f"sync × {r['workers']}"
            if r["threads"] == 1
            else f"gthread × {r['workers']} × {r['threads']} threads"
        )
        page, lodging = r["page"], r["lodging"]
        lines.append(
            f"| {label} | {r['total_rate']:.0f} | {page['rate']:.0f} "
            f"| {page['p50_ms']:.0f} / {page['p99_ms']:.0f} | {lodging['rate']:.0f} "
            f"| {lodging['p50_ms']:.0f} / {lodging['p99_ms']:.0f} | {r['errors']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--shape", action="append", help="sync:WORKERS or gthread:WORKERS:THREADS")
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    args = parser.parse_args()
    results = []
    for shape in args.shape or SHAPES:
        result = measure(shape, args.seconds)
        print(json.dumps(result), file=sys.stderr)
        results.append(result)
    text = table(results, args.seconds)
    print(text)
    if args.write:
        write_section(NAME, text)


if __name__ == "__main__":
    main()
