"""Lodging through the API under gunicorn, against a bare Flask + SQLAlchemy insert beside it.

    python -m bench.lodging                       # SQLite, then PostgreSQL with the Redis limiter
    python -m bench.lodging --backend sqlite --seconds 5 --rounds 2
    python -m bench.lodging --write               # also rewrite the section in docs/benchmarks.md

Two gunicorn servers with 2 sync workers each, started at once on the same database: ODR
(`odr/gunicorn_conf.py`, the production settings; on PostgreSQL the rate limiter in Redis, its
lodging limit raised so it counts but never refuses) and the bare app (`bench/bare_app.py`: one
endpoint inserting a case row and an event row in ODR's tables). The same load generator
(`bench/load.py`, keep-alive clients in threads) sends `POST /api/v1/disputes` with a new order
reference each time, to one server then the other, in rounds, so that whatever else the machine
does falls on both alike. Reported: lodgings a second, p50 and p99, errors, the ratio of the
rates, and the SQL statements one lodging makes (counted in a separate in-process run with a
SQLAlchemy event listener: every statement sent, SQLite's BEGIN included, commits not).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import recreate_postgres  # noqa: E402
from bench.load import Request, percentile, run_load, wait_for  # noqa: E402
from bench.sweep import write_section  # noqa: E402

NAME = "lodging"
DATABASE = "odr_bench_lodging"
REDIS_DB = 11
PASSWORD = "correct horse battery"


def database_url(backend: str, work: Path) -> str:
    if backend == "postgresql":
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    return f"sqlite:///{work / 'odr.db'}"


def environment(backend: str, port: int, work: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ODR_ENV": "production",
        "ODR_SECRET_KEY": "bench-secret-key-" + "s" * 32,
        "ODR_AUDIT_KEY": "bench-audit-key-" + "a" * 32,
        "ODR_DATABASE_URL": database_url(backend, work),
        "ODR_SINGLE_HOST": "1",
        "ODR_STORAGE_DIR": str(work / "storage"),
        "ODR_INSTANCE_DIR": str(work),
        "ODR_INSECURE_LOCAL": "1",
        "ODR_BASE_URL": f"http://127.0.0.1:{port}",
        "ODR_PORT": str(port),
        "ODR_WORKERS": "2",
        "ODR_WORKER_CLASS": "sync",
        "ODR_SMTP_PORT": "1",  # mail stays in the outbox
        "ODR_RATELIMIT_LODGE": "100000000 per hour",
        "ODR_LOG_FORMAT": "json",
    }
    if backend == "postgresql":
        redis = f"redis://127.0.0.1:6379/{REDIS_DB}"
        env |= {"ODR_RATELIMIT_URL": redis, "ODR_QUEUE_URL": redis}
    else:
        env.pop("ODR_RATELIMIT_URL", None)
        env.pop("ODR_QUEUE_URL", None)
    return env


def fresh_database(backend: str, work: Path) -> None:
    if backend == "postgresql":
        recreate_postgres(DATABASE)
        subprocess.run(
            ["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], check=True, capture_output=True
        )
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work / 'odr.db'}{suffix}").unlink(missing_ok=True)


# Disputes already in the database before the measured lodgings. Without them the tables hold 25
# rows when the workers' first statements are planned, and PostgreSQL keeps those plans (a
# prepared statement's generic plan) until autovacuum next analyzes the table, up to a minute
# later: the duplicate check then walks every case of the one merchant the bench lodges against.
IN_SERVICE = 20_000
# The merchants the measured lodgings name, in turn, as on a day in service. Each lodging adds to
# its merchant's record (`odr.analytics`), a row held until the lodging commits: when every
# lodging names one merchant, the two workers take turns on that row (docs/benchmarks.md).
MERCHANTS = 2_000


PREPARE = """
import json, os, sys, uuid
import sqlalchemy as sa
from app import app
from odr.accounts.services import create_user
from odr.accounts.tokens import create_token
from odr.extensions import db
from tests.factories import lodging_body

with app.app_context(), app.test_request_context():
    user = create_user(email='claimant@bench.example', name='Bench', role='consumer',
        country='CN', language='en', password=os.environ['BENCH_PASSWORD'])
    _, token = create_token(user, name='bench')
    engine = db.engine
client = app.test_client()
headers = {'Authorization': 'Bearer ' + token}
statements = []
def count(*args):
    statements.append(args[2])
for n in range(25):
    if n == 5:
        sa.event.listen(engine, 'before_cursor_execute', count)
    r = client.post('/api/v1/disputes', json=lodging_body(), headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)
sa.event.remove(engine, 'before_cursor_execute', count)

# A database in service: earlier disputes against many merchants, and the planner's statistics
# current, as autovacuum keeps them on a server (see `IN_SERVICE` in bench/lodging.py).
cases = sa.Table('cases', sa.MetaData(), autoload_with=engine)
with engine.begin() as connection:
    first = dict(connection.execute(sa.select(cases).order_by(cases.c.id).limit(1)).one()._mapping)
    for key in ('id', 'public_id', 'reference'):
        first.pop(key)
    earlier, MERCHANTS = int(os.environ['BENCH_IN_SERVICE']), int(os.environ['BENCH_MERCHANTS'])
    for start in range(0, earlier, 5000):
        connection.execute(sa.insert(cases), [
            dict(first, public_id=str(uuid.uuid4()), reference=f'S-{n:08d}',
                 respondent_email=f'shop{n % MERCHANTS}@merchant{n % MERCHANTS}.example',
                 order_reference=f'S-{n}')
            for n in range(start, min(start + 5000, earlier))
        ])
    connection.execute(sa.text('ANALYZE'))
print(json.dumps({'token': token, 'statements': len(statements) / 20}))
"""


def prepare(env: dict[str, str]) -> dict:
    """Migrate, make a claimant with a token, lodge 25 disputes in process (the first is the bare
    app's template), count the statements of the last 20, then add `IN_SERVICE` earlier disputes
    against 2,000 merchants and analyze the database."""
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    made = subprocess.run(
        [sys.executable, "-c", PREPARE],
        env=env
        | {
            "BENCH_PASSWORD": PASSWORD,
            "BENCH_IN_SERVICE": str(IN_SERVICE),
            "BENCH_MERCHANTS": str(MERCHANTS),
            "ODR_LOG_FORMAT": "json",
        },
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return json.loads(made.stdout.decode().strip().splitlines()[-1])


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(port, process, "/api/v1/disputes")
    return process


def servers(backend: str, work: Path) -> tuple[dict, dict[str, subprocess.Popen], dict]:
    from tests.conftest import free_port

    odr_port, bare_port = free_port(), free_port()
    env = environment(backend, odr_port, work)
    fresh_database(backend, work)
    given = prepare(env)
    odr = [sys.executable, "-m", "gunicorn", "-c", "python:odr.gunicorn_conf", "app:app"]
    bare = [
        sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync",
        "-b", f"127.0.0.1:{bare_port}", "bench.bare_app:app",
    ]  # fmt: skip
    bare_env = env | {"BENCH_DATABASE_URL": env["ODR_DATABASE_URL"]}
    processes = {"odr": start(odr, env, odr_port), "bare": start(bare, bare_env, bare_port)}
    return given, processes, {"odr": odr_port, "bare": bare_port}


def lodgings(token: str | None, merchants: int = MERCHANTS):
    from tests.factories import lodging_body

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    tag = f"{os.getpid()}-{time.monotonic_ns()}"

    def make(client: int, n: int) -> Request:
        merchant = (client * 7919 + n) % merchants  # the clients' lodgings meet few at a time
        body = lodging_body(
            respondent_email=f"shop{merchant}@merchant{merchant}.example",
            order__reference=f"B-{tag}-{client}-{n}",
        )
        return Request("POST", "/api/v1/disputes", json.dumps(body), headers, expect=201)

    return make


def measure(
    backend: str, seconds: float, rounds: int, clients: int, merchants: int = MERCHANTS
) -> dict:
    work = Path(f"/tmp/odr-bench-lodging-{backend}")
    work.mkdir(parents=True, exist_ok=True)
    given, processes, ports = servers(backend, work)
    figures: dict[str, dict] = {
        kind: {"times": [], "seconds": 0.0, "errors": 0, "rates": []} for kind in ports
    }
    try:
        for _ in range(rounds):
            for kind in ("bare", "odr"):
                make = lodgings(given["token"] if kind == "odr" else None, merchants)
                run = run_load(ports[kind], make, clients=clients, seconds=seconds, warm=1.0)
                figures[kind]["rates"].append(len(run["times"]) / run["seconds"])
                figures[kind]["times"] += run.pop("times")
                figures[kind]["seconds"] += run["seconds"]
                figures[kind]["errors"] += run["errors"]
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
    result: dict = {"backend": backend, "statements": given["statements"]}
    for kind, figure in figures.items():
        times = sorted(figure["times"])
        result[kind] = {
            "rate": len(times) / figure["seconds"],
            "p50_ms": 1000 * percentile(times, 0.5),
            "p99_ms": 1000 * percentile(times, 0.99),
            "errors": figure["errors"],
        }
    # Each round's ratio sets ODR against the bare run just before it: this machine's speed drifts
    # by up to a third within a minute, and a pair of neighbouring runs shares the drift.
    pairs = zip(figures["bare"]["rates"], figures["odr"]["rates"], strict=True)
    ratios = sorted(odr / bare for bare, odr in pairs)
    result["ratio"] = statistics.median(ratios)
    result["ratios"] = ratios
    return result


def table(results: list[dict], seconds: float, rounds: int, clients: int) -> str:
    lines = [
        f"gunicorn, 2 sync workers each; {clients} keep-alive clients; {rounds} rounds of "
        f"{seconds:.0f} s on each server in turn; {os.cpu_count()} cores shared by both servers, "
        "the clients and the database. The ratio is the median of the rounds' ratios (each ODR "
        "round against the bare round just before it), with the lowest and highest.",
        "",
        "| backend | server | lodgings/s | p50 / p99 (ms) | errors | SQL statements a lodging "
        "| ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        label = "PostgreSQL, Redis limiter" if r["backend"] == "postgresql" else "SQLite"
        for kind, name, statements in (
            ("bare", "bare Flask + SQLAlchemy insert", "2"),
            ("odr", "ODR `POST /api/v1/disputes`", f"{r['statements']:.0f}"),
        ):
            f = r[kind]
            ratio = "1"
            if kind == "odr":
                low, high = r["ratios"][0], r["ratios"][-1]
                ratio = f"{r['ratio']:.2f}× ({low:.2f}–{high:.2f})"
            lines.append(
                f"| {label} | {name} | {f['rate']:.0f} | {f['p50_ms']:.1f} / {f['p99_ms']:.1f} "
                f"| {f['errors']} | {statements} | {ratio} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=8, help="each round on each server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--merchants", type=int, default=MERCHANTS, help="how many the lodgings name, in turn"
    )
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        result = measure(backend, args.seconds, args.rounds, args.clients, args.merchants)
        print(json.dumps(result), file=sys.stderr, flush=True)
        results.append(result)
    text = table(results, args.seconds, args.rounds, args.clients)
    print(text)
    if args.write:
        write_section(NAME, text)


if __name__ == "__main__":
    main()
