"""Two app hosts behind a round-robin, against one host with as many workers (issue 16).

    python -m bench.hosts                      # 2 rounds of 15 s on each setup, in turn
    python -m bench.hosts --seconds 3 --rounds 1 --clients 4   # a quick look
    python -m bench.hosts --write              # also rewrite the section in docs/benchmarks.md

The production shape `make serve` runs (`odr.serve`), as two hosts: each gunicorn with one sync
worker and a Huey worker beside it, both on one PostgreSQL database (`odr_bench_hosts`, made
afresh, migrated, with the demo data), one Redis database (10: the queue and the rate limits),
one S3 endpoint (moto's server on a free port, a new bucket) and one SMTP server that takes every
mail (in this process). In turns with it, the same processes on one host: gunicorn with two
workers and two Huey workers, so that only the split differs (each accepted offer has a
settlement agreement rendered by a Huey worker, about as much work as the session's four requests:
one Huey worker against two would measure the back office, not the hosts).

Each client, a thread with a keep-alive connection to every host, runs sessions: the demo
consumer lodges a dispute against the demo merchant, uploads a text file of 20 to 50 KB as
evidence, the merchant offers a partial refund and the consumer accepts it. Each request goes to
the next host, so that a dispute is lodged on one host and its evidence uploaded on the other.
Counted: the requests, and the sessions (by their acceptance), answered after the first
`WARM_SECONDS` (each run starts its hosts afresh) and before the time is up; a session under way
then is finished, so that it can be checked.

After each run, once the workers have delivered the mail and rendered the settlement agreements,
the database is checked: every dispute lodged is there once and settled, every case's event chain
holds (`verify_all_chains`, as `flask odr audit verify`), each evidence row is the file uploaded
and is in S3 with its SHA-256, so is each agreement rendered, and no outbox message is dead or
lost (the SMTP server received as many mails as the outbox marks delivered).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import recreate_postgres  # noqa: E402
from bench.load import Request, percentile  # noqa: E402
from bench.sweep import write_section  # noqa: E402

NAME = "hosts"
DATABASE = "odr_bench_hosts"
REDIS_DB = 10
WORK = Path("/tmp/odr-bench-hosts")
LOG = WORK / "servers.log"  # the hosts' output: a JSON line a request
CONSUMER = "consumer@demo.odr"
MERCHANT = "merchant@demo.odr"  # odr.demo.RHEINLAND: the disputes name it, so it answers them
OFFER = {
    "amount": {"amount": "60.00", "currency": "EUR"},
    "remedy": "partial_refund",
    "terms": "Partial refund of EUR 60.00; the customer keeps the headphones.",
}
KINDS = ("lodge", "evidence", "offer", "accept")
# Each host's gunicorn workers and Huey workers: the same processes, on two hosts or on one.
SETUPS = {"two hosts": ((1, 1), (1, 1)), "one host": ((2, 2),)}
WARM_SECONDS = 3.0
DRAIN_SECONDS = 300


@dataclass
class Session:
    """What one session did, to be found in the database afterwards."""

    dispute: str
    sha256: str | None = None  # of the evidence uploaded
    settled: bool = False


class MailCount:
    """An SMTP handler that takes every mail and counts it."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802, ANN001 (aiosmtpd)
        with self.lock:
            self.count += 1
        return "250 OK"


@contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Processes started inside write their output to `path` (file descriptors 1 and 2)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def fresh_state() -> None:
    recreate_postgres(DATABASE)
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], check=True, capture_output=True)


def common_env(s3_endpoint: str, smtp_port: int) -> dict[str, str]:
    """What every host shares: the database, Redis, the bucket, the keys, the balancer's URL."""
    from tests.conftest import free_port

    redis = f"redis://127.0.0.1:6379/{REDIS_DB}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ODR_")},
        "PYTHONPATH": str(ROOT),
        "ODR_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
        "ODR_QUEUE_URL": redis,
        "ODR_RATELIMIT_URL": redis,
        "ODR_STORAGE_URL": f"s3://odr-bench-hosts-{uuid.uuid4().hex[:8]}/files",
        "ODR_S3_ENDPOINT_URL": s3_endpoint,
        "ODR_SMTP_PORT": str(smtp_port),
        "ODR_BASE_URL": f"http://127.0.0.1:{free_port()}",  # the balancer's, the same for all
        "ODR_SECRET_KEY": "bench-hosts-secret-" + uuid.uuid4().hex,
        "ODR_AUDIT_KEY": "bench-hosts-audit-" + uuid.uuid4().hex,
        "ODR_WORKER_CLASS": "sync",
        "ODR_RATELIMIT_LODGE": "100000000 per hour",  # counted, never refused
    }


def host_env(common: dict[str, str], workers: int) -> dict[str, str]:
    from odr import serve
    from tests.conftest import free_port

    port = free_port()
    return serve.production_env(
        {
            **common,
            "ODR_PORT": str(port),
            "ODR_WORKERS": str(workers),
            "ODR_INSTANCE_DIR": str(WORK / f"host-{port}"),
        }
    )


@contextmanager
def hosts(common: dict[str, str], shape: tuple[tuple[int, int], ...]) -> Iterator[list[int]]:
    """The hosts serving (gunicorn, then its Huey workers, as `make serve`); their ports."""
    from odr import serve

    envs = [host_env(common, web) for web, _ in shape]
    processes = []
    try:
        with output_to(LOG):
            processes += [serve.start_gunicorn(env) for env in envs]
        for env, gunicorn in zip(envs, processes, strict=True):
            serve.wait_until_serving(env, gunicorn)
        with output_to(LOG):
            for env, (_, workers) in zip(envs, shape, strict=True):
                processes += [serve.start_worker(env) for _ in range(workers)]
        yield [int(env["ODR_PORT"]) for env in envs]
    finally:
        for process in processes:
            serve.stop(process)


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def evidence_text(label: str, size: int) -> bytes:
    line = f"{label}: chat with the seller about the left earcup, which stopped working.\n"
    return (line * (size // len(line) + 1)).encode()[:size]


def run_sessions(
    ports: list[int], tokens: dict[str, str], tag: str, *, clients: int, seconds: float
) -> dict:
    """Sessions from `clients` threads for `seconds` after the warm-up: times by kind, errors,
    the sessions done and everything lodged."""
    from tests.factories import lodging_body

    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    errors: list[str] = []
    lodged: list[Session] = []
    done = [0]
    lock = threading.Lock()
    started = time.perf_counter()
    counting_from = started + WARM_SECONDS
    stop_at = counting_from + seconds
    json_type = {"Content-Type": "application/json"}
    consumer = {"Authorization": f"Bearer {tokens['consumer']}"}
    merchant = {"Authorization": f"Bearer {tokens['merchant']}"}

    def client(number: int) -> None:
        connections = [http.client.HTTPConnection("127.0.0.1", p, timeout=120) for p in ports]
        turn = number
        mine: dict[str, list[float]] = {kind: [] for kind in KINDS}
        failed: list[str] = []
        sessions: list[Session] = []
        finished = 0
        rng = random.Random(f"{tag}-{number}")

        def send(kind: str, request: Request) -> tuple[dict | None, float]:
            """The answer (None when it was not the one expected) and when it came."""
            nonlocal turn
            index = turn % len(ports)
            turn += 1
            begin = time.perf_counter()
            try:
                connections[index].request(
                    request.method, request.path, request.body, request.headers
                )
                response = connections[index].getresponse()
                status, body = response.status, response.read()
            except (OSError, http.client.HTTPException) as error:
                connections[index].close()
                connections[index] = http.client.HTTPConnection(
                    "127.0.0.1", ports[index], timeout=120
                )
                status, body = None, repr(error).encode()
            end = time.perf_counter()
            if status != request.expect:
                failed.append(f"{kind} on :{ports[index]}: {status} {body[:200]!r}")
                return None, end
            if counting_from <= end <= stop_at:
                mine[kind].append(end - begin)
            return json.loads(body), end

        n = 0
        while time.perf_counter() < stop_at:
            label = f"{tag}-{number}-{n}"
            n += 1
            body = json.dumps(lodging_body(MERCHANT, order__reference=label))
            lodge = Request("POST", "/api/v1/disputes", body, consumer | json_type, 201)
            dispute, _ = send("lodge", lodge)
            if dispute is None:
                continue
            session = Session(dispute["id"])
            sessions.append(session)
            path = f"/api/v1/disputes/{dispute['id']}"
            data = evidence_text(label, rng.randint(20_000, 50_000))
            form, form_type = multipart(f"{label}.txt", data)
            upload_type = consumer | {"Content-Type": form_type}
            upload = Request("POST", f"{path}/evidence", form, upload_type, 201)
            if send("evidence", upload)[0] is None:
                continue
            session.sha256 = hashlib.sha256(data).hexdigest()
            offer = Request("POST", f"{path}/offers", json.dumps(OFFER), merchant | json_type, 201)
            made, _ = send("offer", offer)
            if made is None:
                continue
            accept = Request("POST", f"{path}/offers/{made['id']}/accept", None, consumer)
            accepted, end = send("accept", accept)
            if accepted is None:
                continue
            session.settled = True
            finished += counting_from <= end <= stop_at
        for connection in connections:
            connection.close()
        with lock:
            for kind in KINDS:
                times[kind] += mine[kind]
            errors.extend(failed)
            lodged.extend(sessions)
            done[0] += finished

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "seconds": seconds,
        "times": times,
        "errors": errors,
        "sessions": done[0],
        "lodged": lodged,
    }


def drain(database_url: str) -> float:
    """Wait while mail is due and agreements are unrendered; the seconds it took."""
    import sqlalchemy as sa

    waiting = sa.text(
        "SELECT (SELECT count(*) FROM outbox WHERE kind = 'mail' AND delivered_at IS NULL"
        " AND dead_at IS NULL AND next_attempt_at <= now())"
        " + (SELECT count(*) FROM documents WHERE status = 'pending')"
    )
    engine = sa.create_engine(database_url)
    begin = time.monotonic()
    try:
        with engine.connect() as connection:
            while connection.execute(waiting).scalar():
                connection.rollback()
                if time.monotonic() - begin > DRAIN_SECONDS:
                    break
                time.sleep(0.2)
    finally:
        engine.dispose()
    return time.monotonic() - begin


def check(app, tag: str, lodged: list[Session], mail: MailCount) -> dict:  # noqa: ANN001 (Flask)
    """The run's disputes as the database and storage hold them; `problems` lists what differs."""
    import sqlalchemy as sa

    from odr.cases.events import verify_all_chains
    from odr.cases.models import Case, Evidence
    from odr.delivery.models import OutboxMessage
    from odr.documents.models import Document
    from odr.extensions import db
    from odr.storage import StoredFileDamaged, checked_copy

    problems: list[str] = []
    expected = {session.dispute: session for session in lodged}
    with app.app_context():
        cases = db.session.execute(
            sa.select(Case.id, Case.public_id, Case.state).where(
                Case.order_reference.like(f"{tag}-%")
            )
        ).all()
        found = sorted(case.public_id for case in cases)
        if found != sorted(expected):
            problems.append(f"{len(found)} disputes in the database, {len(expected)} lodged")
        public_ids = {case.id: case.public_id for case in cases}
        unsettled = [
            case.public_id
            for case in cases
            if case.public_id in expected
            and expected[case.public_id].settled
            and case.state != "settled"
        ]
        if unsettled:
            problems.append(f"{len(unsettled)} accepted disputes not settled")
        problems += [f"case {reference}: {problem}" for reference, problem in verify_all_chains()]
        evidence = db.session.execute(
            sa.select(Evidence.case_id, Evidence.sha256).where(Evidence.case_id.in_(public_ids))
        ).all()
        stored = sorted((public_ids[row.case_id], row.sha256) for row in evidence)
        uploaded = sorted((s.dispute, s.sha256) for s in lodged if s.sha256 is not None)
        if stored != uploaded:
            problems.append(f"{len(stored)} evidence rows, {len(uploaded)} files uploaded")
        agreements = db.session.scalars(
            sa.select(Document.sha256).where(
                Document.case_id.in_(public_ids), Document.status == "ready"
            )
        ).all()
        for sha256 in [row.sha256 for row in evidence] + list(agreements):
            try:
                checked_copy(sha256).close()
            except (FileNotFoundError, StoredFileDamaged) as error:
                problems.append(f"stored file {sha256}: {type(error).__name__}")
        mails = db.session.execute(
            sa.select(
                sa.func.count(OutboxMessage.delivered_at),
                sa.func.count(OutboxMessage.dead_at),
                sa.func.count().filter(
                    OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_(None)
                ),
            ).where(OutboxMessage.kind == "mail")
        ).one()
        db.session.remove()
    delivered, dead, pending = mails
    if dead:
        problems.append(f"{dead} mails dead in the outbox")
    if delivered != mail.count:
        problems.append(f"{delivered} mails marked delivered, {mail.count} received")
    return {
        "disputes": len(found),
        "settled": len(found) - len(unsettled),
        "files": len(evidence) + len(agreements),
        "agreements": len(agreements),
        "mail_delivered": delivered,
        "mail_pending": pending,
        "mail_dead": dead,
        "mail_received": mail.count,
        "problems": problems,
    }


def measure(seconds: float, rounds: int, clients: int) -> tuple[dict[str, dict], dict]:
    """Both setups in turn, `rounds` times each (the order swapped every round); the figures
    of each and the last check (the outbox as it is at the end)."""
    from aiosmtpd.controller import Controller

    from odr import create_app, serve
    from odr.config import load_config
    from tests.conftest import free_port
    from tests.storage_helpers import s3_endpoint, stop_s3_server
    from tests.test_serve import flask_json

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    mail = MailCount()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        fresh_state()
        common = common_env(s3_endpoint(), smtp.port)
        env = host_env(common, 1)
        with output_to(LOG):
            serve.set_up(env)
        tokens = {
            role: flask_json(env, "odr", "token", "create", "--email", email, "--json")["token"]
            for role, email in (("consumer", CONSUMER), ("merchant", MERCHANT))
        }
        app = create_app(load_config(env))
        figures = {
            name: {"times": {kind: [] for kind in KINDS}, "seconds": 0.0, "sessions": 0}
            | {"errors": [], "checks": [], "drain": [], "rounds": []}
            for name in SETUPS
        }
        for round_ in range(rounds):
            for name in list(SETUPS)[:: 1 if round_ % 2 == 0 else -1]:
                tag = f"HB-{uuid.uuid4().hex[:8]}"
                with hosts(common, SETUPS[name]) as ports:
                    run = run_sessions(ports, tokens, tag, clients=clients, seconds=seconds)
                    drained = drain(env["ODR_DATABASE_URL"])
                checked = check(app, tag, run["lodged"], mail)
                figure = figures[name]
                for kind in KINDS:
                    figure["times"][kind] += run["times"][kind]
                figure["seconds"] += run["seconds"]
                figure["sessions"] += run["sessions"]
                figure["errors"] += run["errors"]
                figure["checks"].append(checked)
                figure["drain"].append(drained)
                figure["rounds"].append(run["sessions"] / run["seconds"])
                summary = {k: v for k, v in checked.items() if k != "problems"}
                print(
                    f"hosts: round {round_ + 1}, {name}: {run['sessions']} sessions in "
                    f"{run['seconds']:.1f} s, {len(run['errors'])} errors, drained in "
                    f"{drained:.1f} s, {summary}, problems {checked['problems'][:5]}, "
                    f"errors {run['errors'][:3]}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        smtp.stop()
        stop_s3_server()
    return figures, checked


def summarise(figures: dict[str, dict], last: dict) -> dict[str, dict]:
    result: dict[str, dict] = {"outbox": last}
    for name, figure in figures.items():
        checks = figure["checks"]
        requests = sum(len(times) for times in figure["times"].values())
        result[name] = {
            "requests_rate": requests / figure["seconds"],
            "sessions_rate": figure["sessions"] / figure["seconds"],
            "ms": {
                kind: (
                    1000 * percentile(sorted(times), 0.5),
                    1000 * percentile(sorted(times), 0.99),
                )
                for kind, times in figure["times"].items()
            },
            "errors": len(figure["errors"]),
            "disputes": sum(c["disputes"] for c in checks),
            "files": sum(c["files"] for c in checks),
            "agreements": sum(c["agreements"] for c in checks),
            "problems": [p for c in checks for p in c["problems"]],
            "drain": max(figure["drain"]),
            "rounds": figure["rounds"],
        }
    return result


def table(result: dict[str, dict], seconds: float, rounds: int, clients: int) -> str:
    """The section: the figures, what was checked, and a sentence on what they say."""
    two, one = result["two hosts"], result["one host"]
    ratio = two["sessions_rate"] / one["sessions_rate"] if one["sessions_rate"] else 0.0
    lines = [
        f"{clients} keep-alive clients, each request to the next host; {rounds} rounds of "
        f"{seconds:.0f} s on each setup in turn, the order swapped every round; PostgreSQL, "
        f"Redis and moto's S3 server on the same {os.cpu_count()} cores as the hosts and the "
        f"clients (load average {result['load']:.1f} when the bench began). "
        "Times p50 / p99 in ms.",
        "",
        "| setup | requests/s | sessions/s (each round) | lodge | evidence (20–50 KB) | offer "
        "| accept | errors | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "two hosts": "two hosts, each 1 gunicorn worker + 1 Huey worker",
        "one host": "one host, 2 gunicorn workers + 2 Huey workers",
    }
    for name in ("one host", "two hosts"):
        r = result[name]
        times = " | ".join(f"{r['ms'][k][0]:.0f} / {r['ms'][k][1]:.0f}" for k in KINDS)
        share = "1" if name == "one host" else f"{ratio:.2f}×"
        each = ", ".join(f"{rate:.1f}" for rate in r["rounds"])
        lines.append(
            f"| {labels[name]} | {r['requests_rate']:.1f} | {r['sessions_rate']:.1f} ({each}) "
            f"| {times} | {r['errors']} | {share} |"
        )
    lines.append("")
    for name in ("one host", "two hosts"):
        r = result[name]
        verdict = (
            "each there once and settled, every event chain intact, every evidence file and "
            "settlement agreement in S3 with its SHA-256"
            if not r["problems"]
            else "problems: " + "; ".join(r["problems"][:5])
        )
        lines.append(
            f"- {name.capitalize()}: {r['disputes']} disputes checked after the runs, {verdict} "
            f"({r['files']} files); the workers delivered the mail and rendered the agreements "
            f"within {r['drain']:.0f} s of the end of a run."
        )
    mail = result["outbox"]
    lines.append(
        f"- Outbox at the end: {mail['mail_delivered']} mails marked delivered and "
        f"{mail['mail_received']} received by the SMTP server, {mail['mail_pending']} pending, "
        f"{mail['mail_dead']} dead."
    )
    lines += ["", verdict_sentence(ratio, two, one)]
    return "\n".join(lines)


def verdict_sentence(ratio: float, two: dict, one: dict) -> str:
    errors = two["errors"] + one["errors"]
    problems = len(two["problems"]) + len(one["problems"])
    correct = (
        "with no error and every dispute consistent afterwards"
        if not errors and not problems
        else f"with {errors} errors and {problems} consistency problems"
    )
    if abs(ratio - 1) > 0.05:
        speed = f"{ratio:.2f}× the sessions a second of one host running the same processes"
    else:
        speed = f"as many sessions a second as one host running the same processes ({ratio:.2f}×)"
    why = ""
    if ratio < 0.95:
        why = (
            " What differs is where a request waits: the round-robin sends each request to the "
            "next host whether its one worker is busy or not, where one host's two workers take "
            "requests from one listening socket as each comes free"
        )
        longer = sum(two["ms"][k][1] for k in KINDS) > sum(one["ms"][k][1] for k in KINDS)
        why += "; the longer p99 on two hosts points there." if longer else "."
    return (
        f"Two hosts behind the round-robin served {speed}, {correct}: a dispute lodged on one "
        "host took its evidence, offer and acceptance on the other. Both hosts run on the same "
        "two cores here, so a second host brings no capacity of its own: the figure is what "
        f"spreading the requests over hosts costs, not what a second machine would add.{why}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="each round on each setup")
    parser.add_argument("--rounds", type=int, default=2, help="even: the order is swapped")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    result = summarise(*measure(args.seconds, args.rounds, args.clients)) | {"load": load}
    text = table(result, args.seconds, args.rounds, args.clients)
    print(text)
    if args.write:
        write_section(NAME, text)
    if any(result[name]["errors"] or result[name]["problems"] for name in SETUPS):
        sys.exit(1)


if __name__ == "__main__":
    main()
