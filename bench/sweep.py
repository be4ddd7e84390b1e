"""How long the sweep takes over a backlog of overdue cases, against a bare UPDATE of the same rows.

    python -m bench.sweep                       # 10,000 and 100,000 cases, SQLite and PostgreSQL
    python -m bench.sweep --cases 2000 --backend sqlite
    python -m bench.sweep --write               # also rewrite the section in docs/benchmarks.md

The backlog is four kinds of overdue case in equal parts, as after a long stop of the worker:
negotiations nobody answered (escalated to mediation, a mediator assigned while any is free),
mediations past 30 days (failed: unresolved), settlements past their performance date (resolved
or not complied with), and filings nobody screened (a reminder to the case managers). Every fire
is the real one: the row taken for writing, the guards, the event chained, the notices and the
e-mails rendered into the outbox (delivery is not timed: it waits on the mail server).

Each measurement runs in a fresh child process, so its peak memory is its own (the largest of the
processes it forks to share a large backlog on PostgreSQL, `ODR_SWEEP_PROCESSES`). The baseline is
one UPDATE that moves the same rows to their next state, run on the same data and rolled back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import recreate_postgres  # noqa: E402

PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/odr_bench"
KINDS = ("negotiation", "mediation", "settled", "filed")
MEDIATORS = 50


def database_url(backend: str, name: str = "sweep") -> str:
    """A database of the benchmark's own: `odr_bench` (PostgreSQL) or a file (SQLite)."""
    if backend == "postgresql":
        return PG_BENCH if name == "sweep" else f"{PG_BENCH}_{name}"
    return f"sqlite:///{Path(tempfile.gettempdir()) / f'odr-bench-{name}.db'}"


def make_app(url: str):
    from odr import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "QUEUE_IMMEDIATE": False,
            "ARGON2_CHEAP": True,
            "RATELIMIT_ENABLED": False,
            "SMTP_PORT": 1,  # nothing is delivered: mail stays in the outbox
        }
    )


def fresh_database(backend: str, name: str = "sweep") -> None:

    url = database_url(backend, name)
    if backend == "postgresql":
        recreate_postgres(url.rsplit("/", 1)[1])
    else:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def fill(backend: str, cases: int) -> None:
    """Migrate a fresh database and insert `cases` overdue cases, a quarter of each kind."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from odr import clock
    from odr.accounts.models import User
    from odr.accounts.services import create_user
    from odr.cases.lodging import lodge_dispute
    from odr.cases.models import Case
    from odr.extensions import db
    from odr.mediation.services import recount_caseloads
    from tests.factories import lodging_body

    fresh_database(backend)
    app = make_app(database_url(backend))
    with app.app_context(), app.test_request_context():
        upgrade()
        for n, role in enumerate(
            ("case_manager",) + ("mediator",) * MEDIATORS + ("arbitrator",) * 5
        ):
            create_user(
                email=f"{role.replace('_', '.')}{n}@odr.example",
                name=f"{role} {n}",
                role=role,
                country="CN",
                language="en",
                languages=["en", "zh_Hans"],
                caseload_ceiling=cases // 8 // MEDIATORS or 1,  # about half the escalations fit
            )
        claimant = create_user(
            email="claimant@example.com", name="Claimant", role="consumer", country="CN",
            language="en",
        )  # fmt: skip
        template = lodge_dispute(filer=claimant, body=lodging_body())
        db.session.commit()
        columns = {
            c.key: getattr(template, c.key)
            for c in Case.__table__.columns
            if c.key not in ("id", "public_id", "reference")
        }
        mediator_ids = db.session.scalars(sa.select(User.id).where(User.role == "mediator")).all()
        long_ago = clock.now() - timedelta(days=60)
        rows = []
        for i in range(cases):
            kind = KINDS[i % len(KINDS)]
            row = dict(columns, public_id=f"bench-{i:08d}", reference=f"ODR-BENCH-{i:08d}")
            row.update(state=kind, state_entered_at=long_ago, deadline_at=long_ago)
            if kind == "mediation":
                row.update(
                    mediator_id=mediator_ids[i % len(mediator_ids)], neutral_assigned_at=long_ago
                )
            if kind == "settled":
                row.update(performance_due=long_ago.date(), performance_declared_at=(
                    long_ago if i % 8 < 4 else None
                ))  # fmt: skip
            rows.append(row)
            if len(rows) == 5000:
                db.session.execute(sa.insert(Case), rows)
                rows = []
        if rows:
            db.session.execute(sa.insert(Case), rows)
        add_lodged_events(template)
        recount_caseloads()
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def add_lodged_events(template) -> None:
    """Give each copied case its own first event, chained as lodging chains it, so the events
    table is the size it is in real life (and the planner's statistics know it)."""
    import sqlalchemy as sa

    from odr.cases.events import GENESIS, event_hash
    from odr.cases.models import Case, Event
    from odr.extensions import db

    first = db.session.scalar(sa.select(Event).where(Event.case_id == template.id))
    copied = db.session.execute(
        sa.select(Case.id, Case.public_id).where(Case.id != template.id)
    ).all()
    for start in range(0, len(copied), 5000):
        events, heads = [], []
        for case_id, public_id in copied[start : start + 5000]:
            event = SimpleNamespace(
                case_id=case_id, seq=1, at=first.at, actor_id=first.actor_id,
                actor_role=first.actor_role, kind=first.kind, data=first.data, prev_hash=GENESIS,
            )  # fmt: skip
            event.hash = event_hash(SimpleNamespace(public_id=public_id), event)
            events.append(vars(event))
            heads.append({"case": case_id, "head": event.hash})
        db.session.execute(sa.insert(Event), events)
        cases = Case.__table__
        db.session.execute(
            cases.update()
            .where(cases.c.id == sa.bindparam("case"))
            .values(event_head=sa.bindparam("head")),
            heads,
        )


def measure(backend: str, what: str) -> dict:
    """Run one measurement in this process (a child) and return its figures."""
    import sqlalchemy as sa

    from odr import clock
    from odr.cases.models import Case
    from odr.extensions import db

    app = make_app(database_url(backend))
    with app.app_context(), app.test_request_context():
        due = db.session.scalar(sa.select(sa.func.count()).where(Case.deadline_at <= clock.now()))
        db.session.rollback()
        start = time.perf_counter()
        if what == "baseline":
            next_state = sa.case(
                (Case.state == "negotiation", "mediation"),
                (Case.state == "mediation", "unresolved"),
                (Case.state == "settled", "resolved"),
                else_=Case.state,
            )
            db.session.execute(
                sa.update(Case)
                .where(Case.deadline_at <= clock.now())
                .values(
                    state=next_state,
                    version=Case.version + 1,
                    deadline_at=clock.now() + timedelta(days=30),
                )
            )
            db.session.flush()
            seconds = time.perf_counter() - start
            db.session.rollback()
        else:
            from odr.mediation.services import assign_waiting_cases
            from odr.sweep import fire_due_timeouts

            fired = fire_due_timeouts()
            assign_waiting_cases()
            seconds = time.perf_counter() - start
            assert fired == due, (fired, due)
    # The sweep's own processes (a large backlog on PostgreSQL is shared between forked ones).
    peak_kib = max(
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return {"due": due, "seconds": seconds, "peak_mib": peak_kib / 1024}


def child(backend: str, what: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.sweep", "--child", what, "--backend", backend],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(backends: list[str], sizes: list[int]) -> list[dict]:
    results = []
    for backend in backends:
        for size in sizes:
            print(f"{backend}: filling {size:,} overdue cases", file=sys.stderr, flush=True)
            fill(backend, size)
            baseline = child(backend, "baseline")
            print(f"{backend}: sweeping {size:,} cases", file=sys.stderr, flush=True)
            sweep = child(backend, "sweep")
            results.append(
                {"backend": backend, "cases": size, "baseline": baseline, "sweep": sweep}
            )
            print(table(results[-1:]), file=sys.stderr, flush=True)
    return results


def table(results: list[dict]) -> str:
    lines = [
        "| backend | overdue cases | sweep | per case | peak memory | bare UPDATE | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        sweep, baseline = r["sweep"], r["baseline"]
        lines.append(
            f"| {r['backend']} | {r['cases']:,} | {sweep['seconds']:.1f} s "
            f"| {sweep['seconds'] / r['cases'] * 1000:.2f} ms | {sweep['peak_mib']:.0f} MiB "
            f"| {baseline['seconds']:.2f} s | {sweep['seconds'] / baseline['seconds']:.0f}× |"
        )
    return "\n".join(lines)


def write_section(name: str, table_text: str) -> None:
    """Replace the benchmark's section (between its markers) in docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{table_text}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text += f"\n{block}\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, action="append")
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--child", choices=("baseline", "sweep"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.child:
        print(json.dumps(measure(backends[0], args.child)))
        return
    results = run(backends, args.cases or [10_000, 100_000])
    print(table(results))
    if args.write:
        write_section("sweep", table(results))


if __name__ == "__main__":
    main()
