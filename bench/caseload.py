"""The mediator's workspace over a large caseload, against a bare indexed query of the same rows.

    python -m bench.caseload                    # 200,000 disputes, SQLite and PostgreSQL
    python -m bench.caseload --cases 20000 --backend sqlite
    python -m bench.caseload --write            # also rewrite the section in docs/benchmarks.md

200,000 disputes across 500 mediators; the mediator measured has 500 open cases in mediation,
some with an open proposal, messages and unread notices. Timed, each many times after a warm-up:
the workspace query (a page of 50 rows with what waits on whom and the unread count, plus the
counts per stage), the bare query (the same 51 rows by the same index, columns of the case only),
the whole page (`GET /workspace` through the app, as the logged-in mediator), and the page of one
of the mediator's cases after 500 messages (`GET /disputes/<id>`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep import database_url, fresh_database, make_app, write_section  # noqa: E402

MEDIATORS = 500
TARGET_OPEN = 500
EVENTS_ON_ONE_CASE = 500
STATES = ("negotiation", "mediation", "settled", "resolved", "unresolved", "withdrawn")


def fill(backend: str, cases: int) -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from odr import clock
    from odr.accounts.models import User
    from odr.accounts.services import create_user
    from odr.cases.lodging import lodge_dispute
    from odr.cases.models import Case, Message
    from odr.delivery.models import Notice
    from odr.extensions import db
    from odr.mediation.models import Proposal
    from tests.factories import lodging_body

    fresh_database(backend, "caseload")
    app = make_app(database_url(backend, "caseload"))
    with app.app_context(), app.test_request_context():
        upgrade()
        users = [
            {
                "email": f"mediator{n}@odr.example",
                "name": f"Mediator {n}",
                "role": "mediator",
                "country": "CN",
                "language": "en",
                "languages": ["en", "zh_Hans"],
                "caseload_ceiling": 10_000,
                "password_hash": "x",
                "email_verified_at": clock.now(),
                "active": True,
                "timezone": "UTC",
            }
            for n in range(1, MEDIATORS)
        ]
        target = create_user(
            email="mediator0@odr.example", name="Mediator 0", role="mediator", country="CN",
            language="en", password="bench-password-0123",
        )  # fmt: skip
        db.session.execute(sa.insert(User), users)
        claimant = create_user(
            email="claimant@example.com", name="Claimant", role="consumer", country="CN",
            language="en",
        )  # fmt: skip
        template = lodge_dispute(filer=claimant, body=lodging_body())
        db.session.commit()
        mediator_ids = db.session.scalars(sa.select(User.id).where(User.role == "mediator")).all()
        columns = {
            c.key: getattr(template, c.key)
            for c in Case.__table__.columns
            if c.key not in ("id", "public_id", "reference")
        }
        now = clock.now()
        rows = []
        for i in range(cases):
            state = STATES[i % len(STATES)]
            if i < TARGET_OPEN:
                state, mediator = "mediation", target.id
            else:
                mediator = mediator_ids[i % len(mediator_ids)] if state != "negotiation" else None
            final = state in ("resolved", "unresolved", "withdrawn")
            rows.append(
                dict(
                    columns,
                    public_id=f"bench-{i:08d}",
                    reference=f"ODR-2025-{i:06d}",
                    state=state,
                    mediator_id=mediator,
                    claimant_name=f"Consumer {i}",
                    respondent_name=f"Shop {i % 997}",
                    claimant_language=("zh_Hans", "en", "zh_Hant")[i % 3],
                    claimant_country=("CN", "HK", "TW", "DE")[i % 4],
                    deadline_at=None if final else now + timedelta(hours=(i * 7) % (24 * 40)),
                    neutral_assigned_at=now if mediator else None,
                )
            )
            if len(rows) == 5000:
                db.session.execute(sa.insert(Case), rows)
                rows = []
        if rows:
            db.session.execute(sa.insert(Case), rows)
        mine = db.session.scalars(
            sa.select(Case.id).where(Case.mediator_id == target.id).order_by(Case.id)
        ).all()
        db.session.execute(
            sa.insert(Proposal),
            [
                {
                    "case_id": case_id,
                    "mediator_id": target.id,
                    "amount_minor": 5000,
                    "currency": "EUR",
                    "remedy": "refund",
                    "terms": "t",
                    "status": "open",
                    "claimant_answer": "accepted" if n % 2 else None,
                }
                for n, case_id in enumerate(mine[::3])
            ],
        )
        db.session.execute(
            sa.insert(Message),
            [
                {
                    "case_id": case_id,
                    "author_id": claimant.id,
                    "author_role": "claimant",
                    "channel": "joint",
                    "body": "hello",
                }
                for case_id in mine[::2]
            ],
        )
        db.session.execute(
            sa.insert(Notice),
            [
                {"user_id": target.id, "case_id": case_id, "kind": "message_posted", "params": {}}
                for case_id in mine[::2]
            ],
        )
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def timings(function, runs: int) -> list[float]:
    for _ in range(5):
        function()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def measure(backend: str, runs: int) -> dict:
    import sqlalchemy as sa

    from odr.accounts.models import User
    from odr.cases.models import Case
    from odr.extensions import db
    from odr.mediation.workspace import Filters, state_counts, workspace_rows

    app = make_app(database_url(backend, "caseload"))
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    with app.app_context():
        target = db.session.scalar(sa.select(User).where(User.email == "mediator0@odr.example"))
        # The reader is loaded once, as a request loads it; kept in the session, each rollback
        # below would expire it and the next call would read the user's row again.
        db.session.expunge(target)
        bare_query = (
            sa.select(Case)
            .where(Case.mediator_id == target.id, Case.state == "mediation")
            .order_by(Case.deadline_at, Case.id)
            .limit(51)
        )

        def bare() -> None:
            db.session.execute(bare_query).all()
            db.session.rollback()

        def query() -> None:
            rows, _cursor = workspace_rows(target, Filters())
            assert len(rows) == 50
            db.session.rollback()

        def counts() -> None:
            assert state_counts(target, Filters())["mediation"] == TARGET_OPEN
            db.session.rollback()

        results = {
            "bare": timings(bare, runs),
            "query": timings(query, runs),
            "counts": timings(counts, runs),
        }
    client = app.test_client()
    answer = client.post(
        "/login", data={"email": "mediator0@odr.example", "password": "bench-password-0123"}
    )
    assert answer.status_code in (302, 303), answer.status_code

    def page() -> None:
        response = client.get("/workspace")
        assert response.status_code == 200

    results["page"] = timings(page, runs)
    results["case_file"] = timings(_case_file_page(app, client, EVENTS_ON_ONE_CASE), runs)
    return results


def _case_file_page(app, client, events: int):
    """A case of the mediator's with `events` messages, each fired through the service, and a
    function that reads its page."""
    import sqlalchemy as sa

    from odr.accounts.models import User
    from odr.cases.firing import fire
    from odr.cases.models import Case
    from odr.extensions import db

    with app.app_context(), app.test_request_context():
        mediator = db.session.scalar(sa.select(User).where(User.email == "mediator0@odr.example"))
        case = db.session.scalar(
            sa.select(Case).where(Case.mediator_id == mediator.id).order_by(Case.id).limit(1)
        )
        for n in range(events):
            fire(case, "post_message", mediator, body=f"Note {n} to both parties.")
        public_id = case.public_id

    def page() -> None:
        assert client.get(f"/disputes/{public_id}").status_code == 200

    return page


def table(results: list[dict]) -> str:
    lines = [
        "| backend | disputes | bare query p50 / p95 | workspace query p50 / p95 | ratio (p50) "
        "| counts per stage p50 | whole page p50 / p95 | case file page, 500 events, p50 / p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        bare, query, page = r["bare"], r["query"], r["page"]  # milliseconds
        lines.append(
            f"| {r['backend']} | {r['cases']:,} "
            f"| {statistics.median(bare):.2f} / {p95(bare):.2f} ms "
            f"| {statistics.median(query):.2f} / {p95(query):.2f} ms "
            f"| {statistics.median(query) / statistics.median(bare):.1f}× "
            f"| {statistics.median(r['counts']):.2f} ms "
            f"| {statistics.median(page):.1f} / {p95(page):.1f} ms "
            f"| {statistics.median(r['case_file']):.1f} / {p95(r['case_file']):.1f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        print(f"{backend}: filling {args.cases:,} disputes", file=sys.stderr, flush=True)
        fill(backend, args.cases)
        print(f"{backend}: measuring", file=sys.stderr, flush=True)
        results.append({"backend": backend, "cases": args.cases, **measure(backend, args.runs)})
        print(table(results[-1:]), file=sys.stderr, flush=True)
    print(table(results))
    if args.write:
        write_section("caseload", table(results))


if __name__ == "__main__":
    main()
