"""What inspecting an uploaded PDF costs: in the request's own process, and in the bounded child
process every upload really uses (`check_pdf`: a forkserver child with CPU and memory limits).

    python -m bench.pdf_inspection              # 50 timed inspections of each file each way
    python -m bench.pdf_inspection --runs 200
    python -m bench.pdf_inspection --write      # also rewrite the section in docs/benchmarks.md

The files are honest ones: a two-page invoice made by WeasyPrint (object streams, a link to the
shop, a mail link and a link inside the document) and two blank pages made by pypdf with a link.
Both ways alternate, after a warm-up, so load from elsewhere falls on both alike. The first
bounded inspection of a process also starts the forkserver; that is timed once, apart.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.caseload import p95  # noqa: E402
from bench.sweep import write_section  # noqa: E402

NAME = "pdf_inspection"


def samples() -> dict[str, bytes]:
    from pypdf import PdfWriter
    from pypdf.annotations import Link
    from weasyprint import HTML

    html = (
        "<h1>Invoice SW-1042</h1><p>Headphones, EUR 129.90. Order at "
        "<a href='https://shop.example/orders/SW-1042'>shop.example</a>; questions to "
        "<a href='mailto:help@shop.example'>help@shop.example</a>; "
        "<a href='#terms'>terms</a>.</p>" + "<p>Item, quantity, price.</p>" * 20 + "<h2 "
        "id='terms' style='break-before: page'>Terms</h2>" + "<p>Returns within 14 days.</p>" * 20
    )
    writer = PdfWriter()
    for _ in range(2):
        writer.add_blank_page(595, 842)
    writer.add_annotation(0, Link(rect=(50, 50, 300, 80), url="https://shop.example/orders/1"))
    out = io.BytesIO()
    writer.write(out)
    return {"WeasyPrint, 2 pages": HTML(string=html).write_pdf(), "pypdf, 2 pages": out.getvalue()}


def measure(runs: int) -> dict:
    from odr.bounded import run_bounded
    from odr.evidence.pdf_inspection import MEMORY_MB, SECONDS, inspect_pdf

    def bounded(data: bytes) -> str:
        return run_bounded(inspect_pdf, data, seconds=SECONDS, memory_mb=MEMORY_MB)

    files = samples()
    started = time.perf_counter()
    bounded(next(iter(files.values())))
    first = (time.perf_counter() - started) * 1000
    results = {"first_ms": first, "rows": {}}
    for name, data in files.items():
        assert inspect_pdf(data) == bounded(data) == "accepted"
        times: dict[str, list[float]] = {"in process": [], "bounded": []}
        for _ in range(runs):
            for way, inspect in (("in process", inspect_pdf), ("bounded", bounded)):
                start = time.perf_counter()
                inspect(data)
                times[way].append((time.perf_counter() - start) * 1000)
        results["rows"][name] = {"kib": len(data) / 1024, **times}
    return results


def table(results: dict) -> str:
    lines = [
        "| file | size | in process p50 / p95 | bounded child p50 / p95 | the child adds (p50) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results["rows"].items():
        inside, child = row["in process"], row["bounded"]
        lines.append(
            f"| {name} | {row['kib']:.0f} KiB "
            f"| {statistics.median(inside):.1f} / {p95(inside):.1f} ms "
            f"| {statistics.median(child):.1f} / {p95(child):.1f} ms "
            f"| {statistics.median(child) - statistics.median(inside):.1f} ms |"
        )
    lines += [
        "",
        f"The first bounded inspection, starting the forkserver: {results['first_ms']:.0f} ms.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    args = parser.parse_args()
    text = table(measure(args.runs))
    print(text)
    if args.write:
        write_section(NAME, text)


if __name__ == "__main__":
    main()
