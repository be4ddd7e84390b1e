"""Render time and peak memory of a settlement agreement, against a bare WeasyPrint render.

Also how many documents a second one and two worker processes render.

    python -m bench.documents                   # 20 timed renders a document, 40 for the workers
    python -m bench.documents --runs 10 --documents 20
    python -m bench.documents --write           # also rewrite the section in docs/benchmarks.md

The documents are real: disputes lodged on a fresh SQLite database, settled through the services
(the merchant's offer, the consumer's acceptance), so each has its pending settlement agreement
with its frozen content. Two are measured: one in English (both parties English) and one
bilingual (a claimant, 李伟, writing Chinese, against an English-speaking merchant). The HTML and
the render's arguments are those `build_pdf` makes, caught at its call of `render_bounded`.

Three renders of each are timed: the bare baseline, `weasyprint.HTML(string=html).write_pdf()`
with WeasyPrint's defaults (no PDF/A variant, no attachment, the default fetcher); the app's
whole render in process, `render_pdf` (PDF/A-3u, the JSON twin attached, `ProjectFetcher`); and
the app's real path, `render_bounded(render_pdf, ...)`, a child forked from the forkserver for
each document, as the worker does. The baseline and the app's render alternate in one process
(after a warm-up), so load from elsewhere on the machine falls on both alike. Peak memory is the
RSS high-water mark of a fresh process that builds the same app and HTML and renders three times
(its mark before rendering is shown beside it); for the bounded path, it is the render child's own,
read inside it. All work with the app happens in child processes: on Linux a child started by
fork and exec inherits its parent's high-water mark, so the process that starts them stays small.

Throughput: the agreements are all set back to pending, then one or two worker processes, each
started and warmed (app loaded, forkserver running) before the clock starts, run `render_due()`
until nothing is due; the lease in `render_one` keeps two workers off the same document. The wall
clock runs from the start signal to the last worker done, with every document `ready`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing.forkserver
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.caseload import p95  # noqa: E402
from bench.sweep import database_url, fresh_database, make_app, write_section  # noqa: E402

NAME = "documents"
WORK = Path(tempfile.gettempdir()) / "odr-bench-documents"  # queue and stored files
BASE_URL = "https://odr.example"
# The queue is configured when odr.queue is imported: point it (and the stored files)
# at the benchmark's own directory before anything of odr is, here and in every child.
os.environ.update(ODR_QUEUE_PATH=str(WORK / "queue.db"), ODR_STORAGE_DIR=str(WORK / "storage"))

DOCUMENTS = {"en": "English", "zh": "bilingual zh/en"}
CLAIMANTS = {
    "en": {"email": "li.wei@example.com", "name": "Li Wei", "language": "en"},
    "zh": {"email": "li.wei.cn@example.com", "name": "李伟", "language": "zh_Hans"},
}
TERMS = (
    "Rheinland Electronics GmbH refunds EUR 119.90 to the buyer's original means of payment "
    "within 20 days. The buyer returns the headphones at the merchant's expense, using the "
    "prepaid label the merchant sends by e-mail within 5 days. With the refund made, both "
    "parties consider the dispute settled in full."
)
PEAK_RENDERS = 3


def bench_app():
    app = make_app(database_url("sqlite", NAME))
    app.config.update(BASE_URL=BASE_URL, STORAGE_DIR=str(WORK / "storage"))
    return app


def fill(count: str) -> dict:
    """A fresh database with `count` settled disputes, English and bilingual in turn, each with
    its pending settlement agreement."""
    from flask_migrate import upgrade
    from weasyprint import __version__

    from odr import clock
    from odr.accounts.services import create_user
    from odr.cases.lodging import lodge_dispute
    from odr.documents.render import subsetting_with_harfbuzz
    from odr.extensions import db
    from odr.negotiation.services import accept_offer, make_offer
    from tests.factories import lodging_body

    fresh_database("sqlite", NAME)
    app = bench_app()
    with app.app_context(), app.test_request_context():
        upgrade()
        claimants = {
            key: create_user(role="consumer", country="CN", **fields)
            for key, fields in CLAIMANTS.items()
        }
        merchant = create_user(
            email="shop@merchant.example", name="Rheinland Electronics GmbH", role="merchant",
            country="DE", language="en",
        )  # fmt: skip
        offer = {
            "amount": {"amount": "119.90", "currency": "EUR"},
            "remedy": "refund",
            "terms": TERMS,
            "performance_due": (clock.today() + timedelta(days=20)).isoformat(),
        }
        for i in range(int(count)):
            claimant = claimants[list(DOCUMENTS)[i % 2]]
            case = lodge_dispute(filer=claimant, body=lodging_body(language=claimant.language))
            made = make_offer(case, merchant, body=offer)
            accept_offer(case, claimant, made.public_id)
        db.session.commit()
    return {"weasyprint": __version__, "harfbuzz": subsetting_with_harfbuzz()}


def app_render_call(which: str):
    """The HTML and the arguments `build_pdf` passes to `render_bounded` for the first English
    (or bilingual) agreement: `(job, args, kwargs)`."""
    from unittest import mock

    import sqlalchemy as sa

    from odr.documents.models import Document
    from odr.documents.pdf import build_pdf
    from odr.extensions import db

    documents = db.session.scalars(sa.select(Document).order_by(Document.id).limit(2)).all()
    document = documents[list(DOCUMENTS).index(which)]
    assert document.languages == (["en"] if which == "en" else ["zh_Hans", "en"])
    calls = []
    with mock.patch(
        "odr.documents.render.render_bounded", lambda job, *a, **k: calls.append((job, a, k))
    ):
        build_pdf(document)
    db.session.rollback()
    [call] = calls
    return call


def pages(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmRSS")


def render_with_peak(job, *args, **kwargs) -> tuple[bytes, float, float]:
    """`job` run in the render child: its PDF, the child's RSS as it starts (what it shares with
    the forkserver) and its high-water mark after the render."""
    start = rss_mib()
    pdf = job(*args, **kwargs)
    return pdf, start, peak_mib()


def measure(which: str, what: str, runs: str) -> dict:
    """One measurement, in this process (a child); times in milliseconds, memory in MiB."""
    from weasyprint import HTML

    from odr.documents.render import render_bounded

    app = bench_app()
    with app.app_context():
        job, args, kwargs = app_render_call(which)
    html = args[0]
    in_process = {k: v for k, v in kwargs.items() if k not in ("seconds", "memory_mb")}
    renders = {
        "bare": lambda: HTML(string=html).write_pdf(),
        "app": lambda: job(*args, **in_process),
        "bounded": lambda: render_bounded(job, *args, **kwargs),
    }
    before = peak_mib()
    if what in ("bare", "app"):  # peak memory only, in a process of its own
        for _ in range(PEAK_RENDERS):
            renders[what]()
        return {"before_mib": before, "peak_mib": peak_mib()}
    if what == "timing":  # the baseline and the app's render in turn
        result = {"bare": [], "app": []}
        for name in ("bare", "app"):
            pdf = renders[name]()
            renders[name]()
            result[f"{name}_kib"], result[f"{name}_pages"] = len(pdf) / 1024, pages(pdf)
        for _ in range(int(runs)):
            for name in ("bare", "app"):
                start = time.perf_counter()
                renders[name]()
                result[name].append((time.perf_counter() - start) * 1000)
        return result
    # what == "bounded": the worker's path; the forkserver starts at the first render. Like any
    # forkserver child, each render child first imports the parent's main module (here this
    # one; in the worker, the `flask` script), and that is timed too.
    for _ in range(2):
        renders["bounded"]()
    times = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        renders["bounded"]()
        times.append((time.perf_counter() - start) * 1000)
    # The same render wrapped to read the child's memory from inside it (the forkserver's child
    # is not this process's, so RUSAGE_CHILDREN never sees it). Imported by its module's name,
    # not as __main__, so that the child can find it.
    from bench.documents import render_with_peak

    peaks = [render_bounded(render_with_peak, job, *args, **kwargs) for _ in range(PEAK_RENDERS)]
    pdf = peaks[0][0]
    return {
        "bounded": times,
        "worker_mib": peak_mib(),
        "before_mib": max(p[1] for p in peaks),
        "peak_mib": max(p[2] for p in peaks),
        "bounded_kib": len(pdf) / 1024,
        "bounded_pages": pages(pdf),
    }


def reset() -> dict:
    """Every agreement pending again, due now, and the mail its rendering sends not sent yet (a
    document is rendered once in real life: each render queues the parties' mail with the PDF)."""
    import sqlalchemy as sa

    from odr import clock
    from odr.delivery.models import OutboxMessage
    from odr.documents.models import Document
    from odr.extensions import db

    app = bench_app()
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        db.session.execute(
            sa.update(Document).values(
                status="pending", sha256=None, size=None, rendered_at=None, attempts=0,
                last_error=None, next_attempt_at=clock.now(),
            )
        )  # fmt: skip
        db.session.commit()
        return {"total": db.session.scalar(sa.select(sa.func.count()).select_from(Document))}


def check() -> dict:
    import sqlalchemy as sa

    from odr.documents.models import Document
    from odr.extensions import db

    app = bench_app()
    with app.app_context():
        ready = sa.select(sa.func.count()).where(Document.status == "ready")
        errors = sa.select(Document.last_error).where(Document.last_error.is_not(None)).distinct()
        return {"ready": db.session.scalar(ready), "errors": db.session.scalars(errors).all()}


def child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.documents", "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench.documents --child {' '.join(args)} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker() -> None:
    """A worker process: warm up, say so, wait for the start signal, render until none is due."""
    import sqlalchemy as sa

    from odr import clock
    from odr.bounded import _context
    from odr.documents.models import Document
    from odr.documents.render import required_fonts
    from odr.documents.services import render_due
    from odr.extensions import db

    def due() -> int:
        query = sa.select(sa.func.count()).where(
            Document.status == "pending", Document.next_attempt_at <= clock.now()
        )
        left = db.session.scalar(query)
        db.session.rollback()
        return left

    app = bench_app()
    with app.app_context():
        required_fonts(["zh_Hans"])  # fc-list runs once a process
        _context()
        multiprocessing.forkserver.ensure_running()
        due()
        print("ready", flush=True)
        sys.stdin.readline()
        rendered = 0
        while True:
            rendered += render_due()
            if not due():  # those leased by the other worker are not due
                break
        print(json.dumps({"rendered": rendered, "end": time.monotonic()}), flush=True)


def throughput(workers: int) -> dict:
    """Set every agreement back to pending and time `workers` workers rendering them all."""
    total = child("reset")["total"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.documents", "--child", "worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(workers)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    start = time.monotonic()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        output, _ = process.communicate()
        assert process.returncode == 0, process.returncode
        results.append(json.loads(output.strip().splitlines()[-1]))
    seconds = max(r["end"] for r in results) - start
    done = child("check")
    assert done["ready"] == total, (done, total)
    assert sum(r["rendered"] for r in results) == total
    return {
        "workers": workers,
        "documents": total,
        "seconds": seconds,
        "each": [r["rendered"] for r in results],
    }


def run(runs: int, documents: int) -> dict:
    print(f"settling {documents} disputes, English and bilingual in turn", file=sys.stderr)
    versions = child("fill", str(documents))
    rows = {}
    for which, label in DOCUMENTS.items():
        print(f"rendering {runs} {label} agreements, bare and the app's in turn", file=sys.stderr)
        timing = child("measure", which, "timing", str(runs))
        print(f"rendering {runs} {label} agreements in the forkserver child", file=sys.stderr)
        bounded = child("measure", which, "bounded", str(runs))
        print(f"peak memory of the {label} render, bare and the app's", file=sys.stderr)
        rows[which] = {
            "timing": timing,
            "bounded": bounded,
            "bare": child("measure", which, "bare", "0"),
            "app": child("measure", which, "app", "0"),
        }
    rates = []
    for workers in (1, 2):
        print(f"rendering {documents} agreements with {workers} worker(s)", file=sys.stderr)
        rates.append(throughput(workers))
    return {"rows": rows, "rates": rates, "cores": os.cpu_count(), **versions}


def table(results: dict) -> str:
    lines = [
        "| document | render | p50 | p95 | × bare (p50) | peak RSS (before rendering) "
        "| × bare (peak) | PDF |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for which, r in results["rows"].items():
        timing = r["timing"]
        bare_p50, bare_peak = statistics.median(timing["bare"]), r["bare"]["peak_mib"]
        label = f"{DOCUMENTS[which]}, {timing['app_pages']} pages"
        renders = (
            ("bare: `HTML(string=html).write_pdf()`", "bare", timing, r["bare"]),
            ("app in process: `render_pdf`, PDF/A-3u, JSON attached", "app", timing, r["app"]),
            ("app, the worker's path: `render_bounded`, forkserver child", "bounded",
             r["bounded"], r["bounded"]),
        )  # fmt: skip
        for name, key, source, memory in renders:
            times = source[key]
            pdf = f"{source[f'{key}_kib']:.0f} KiB"
            lines.append(
                f"| {label} | {name} | {statistics.median(times):.0f} ms | {p95(times):.0f} ms "
                f"| {statistics.median(times) / bare_p50:.2f}× "
                f"| {memory['peak_mib']:.0f} MiB ({memory['before_mib']:.0f}) "
                f"| {memory['peak_mib'] / bare_peak:.2f}× | {pdf} |"
            )
    workers = {r["workers"]: r for r in results["rates"]}
    lines += [
        "",
        "| workers | agreements (English, bilingual in turn) | wall clock | documents/s "
        "| each worker rendered |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in workers.values():
        lines.append(
            f"| {r['workers']} | {r['documents']} | {r['seconds']:.1f} s "
            f"| {r['documents'] / r['seconds']:.2f} | {' + '.join(map(str, r['each']))} |"
        )
    rows = results["rows"]
    on_top = " and ".join(
        f"{statistics.median(r['bounded']['bounded']) - statistics.median(r['timing']['app']):.0f}"
        f" ms ({DOCUMENTS[w]})"
        for w, r in rows.items()
    )
    worker_peaks = " and ".join(
        f"{r['bounded']['worker_mib']:.0f} MiB ({DOCUMENTS[w]})" for w, r in rows.items()
    )
    lines += [
        "",
        f"WeasyPrint {results['weasyprint']}, fonts subset with "
        f"{'HarfBuzz' if results['harfbuzz'] else 'fontTools (libharfbuzz-subset0 missing)'}, "
        f"{results['cores']} cores. The forkserver child adds {on_top} at p50 to the render in "
        f"process. On that path the worker process itself peaks at {worker_peaks}; the render "
        f"child's peak is the one in the table.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed renders of each document")
    parser.add_argument("--documents", type=int, default=40, help="agreements for the workers")
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, *params = args.child
        if name == "worker":
            worker()
        else:
            work = {"fill": fill, "measure": measure, "reset": reset, "check": check}[name]
            print(json.dumps(work(*params)))
        return
    shutil.rmtree(WORK, ignore_errors=True)  # before the queue is created in it, at import
    WORK.mkdir()
    results = run(args.runs, max(args.documents, 2))
    print(table(results))
    if args.write:
        write_section(NAME, table(results))


if __name__ == "__main__":
    main()
