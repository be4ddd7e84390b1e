"""A gunicorn worker's memory through 10,000 requests with PDF downloads and 10 MB uploads.

    python -m bench.memory                    # 10,000 requests
    python -m bench.memory --requests 2000
    python -m bench.memory --write            # also rewrite the section in docs/benchmarks.md

One sync worker (`odr/gunicorn_conf.py`, never recycled during the run: `ODR_MAX_REQUESTS` set
above the count), SQLite and files in a local folder. Prepared in process: a claimant and a
merchant with tokens, a dispute settled through the API and its agreement rendered (a PDF). Then
one keep-alive client (`bench/load.py`) sends, in every 100 requests: one upload of a 10 MB text
file as evidence (a new dispute every four uploads: a dispute holds at most 50 MB), one download
of the last upload, ten downloads of the agreement PDF, five lodgings and the rest reads of the
dispute (`GET /api/v1/disputes/<id>`). The worker's resident memory (VmRSS in /proc) is read
before the first request and after every 1,000.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import Request, run_load  # noqa: E402
from bench.lodging import start  # noqa: E402
from bench.sweep import write_section  # noqa: E402

NAME = "memory"
UPLOAD_BYTES = 10 * 1024 * 1024 - 4096  # under the 10 MB a file may hold, with the form around it

PREPARE = """
import json
from app import app
from odr.accounts.services import create_user
from odr.accounts.tokens import create_token
from odr.documents.services import render_due
from tests.factories import lodging_body

with app.app_context(), app.test_request_context():
    claimant = create_user(email='claimant@bench.example', name='Bench', role='consumer',
        country='CN', language='en', password='correct horse battery')
    merchant = create_user(email='shop@merchant.example', name='Shop', role='merchant',
        country='DE', language='en', password='correct horse battery')
    _, claimant_token = create_token(claimant, name='bench')
    _, merchant_token = create_token(merchant, name='bench')
client = app.test_client()
as_claimant = {'Authorization': 'Bearer ' + claimant_token}
as_merchant = {'Authorization': 'Bearer ' + merchant_token}
dispute = client.post('/api/v1/disputes', json=lodging_body(), headers=as_claimant).get_json()
offer = client.post(f"/api/v1/disputes/{dispute['id']}/offers", headers=as_merchant, json={
    'amount': {'amount': '50.00', 'currency': 'EUR'}, 'remedy': 'refund', 'terms': 'Refund.'})
assert offer.status_code == 201, offer.get_data(as_text=True)
accepted = client.post(f"/api/v1/disputes/{dispute['id']}/offers/{offer.get_json()['id']}/accept",
    headers=as_claimant, json={})
assert accepted.status_code == 200, accepted.get_data(as_text=True)
with app.app_context(), app.test_request_context():
    render_due()
documents = client.get(f"/api/v1/disputes/{dispute['id']}/documents", headers=as_claimant)
document = documents.get_json()['items'][0]
assert document['status'] == 'ready', document
print(json.dumps({'token': claimant_token, 'dispute': dispute['id'], 'document': document['id']}))
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def multipart(data: bytes, boundary: str) -> bytes:
    """A form with one file; the file starts with the boundary, so no two are the same."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="log.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    return head + boundary.encode() + b"\n" + data + f"\r\n--{boundary}--\r\n".encode()


def measure(requests: int) -> dict:
    from bench.lodging import environment, fresh_database
    from tests.conftest import free_port
    from tests.factories import lodging_body

    work = Path("/tmp/odr-bench-memory")
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = environment("sqlite", port, work) | {
        "ODR_WORKERS": "1",
        "ODR_MAX_REQUESTS": str(requests * 10),
    }
    fresh_database("sqlite", work)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    made = subprocess.run([sys.executable, "-c", PREPARE], env=env, cwd=ROOT, capture_output=True)
    if made.returncode:
        raise RuntimeError(made.stderr.decode()[-3000:])
    given = json.loads(made.stdout.decode().strip().splitlines()[-1])
    server = start(
        [sys.executable, "-m", "gunicorn", "-c", "python:odr.gunicorn_conf", "app:app"], env, port
    )
    try:
        (worker,) = worker_pids(server.pid)
        auth = {"Authorization": f"Bearer {given['token']}"}
        lines = b"an honest log line\n" * (UPLOAD_BYTES // 19)
        state = {"target": given["dispute"], "uploads": 0, "evidence": None}
        samples = [(0, rss_mib(worker))]
        bytes_moved = [0]

        def make(_client: int, n: int) -> Request:
            if n and n % 1000 == 0:
                samples.append((n, rss_mib(worker)))
            step = n % 100
            if step == 0:
                if state["uploads"] % 4 == 3:  # a dispute holds at most 50 MB of evidence
                    state["target"] = new_dispute(port, auth, lodging_body())
                state["uploads"] += 1
                boundary = uuid.uuid4().hex
                upload = multipart(lines, boundary)
                bytes_moved[0] += len(upload)
                path = f"/api/v1/disputes/{state['target']}/evidence"
                headers = auth | {"Content-Type": f"multipart/form-data; boundary={boundary}"}
                return Request("POST", path, upload, headers, expect=201)
            if step == 50 and state["uploads"]:
                bytes_moved[0] += UPLOAD_BYTES
                return Request(
                    "GET", f"/api/v1/disputes/{state['target']}/evidence/last", None, auth
                )
            if step % 10 == 5:
                return Request("GET", f"/api/v1/documents/{given['document']}", None, auth)
            if step % 20 == 7:
                body = json.dumps(lodging_body())
                headers = auth | {"Content-Type": "application/json"}
                return Request("POST", "/api/v1/disputes", body, headers, expect=201)
            return Request("GET", f"/api/v1/disputes/{given['dispute']}", None, auth)

        started = time.perf_counter()
        run = run_load(port, with_last_evidence(make, port, auth, state), clients=1,
                       seconds=None, requests=requests, warm=0)  # fmt: skip
        samples.append((requests, rss_mib(worker)))
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "requests": requests,
        "errors": run["errors"],
        "seconds": seconds,
        "samples": samples,
        "uploads": state["uploads"],
        "gib_moved": bytes_moved[0] / 2**30,
    }


def new_dispute(port: int, auth: dict, body: dict) -> str:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = auth | {"Content-Type": "application/json"}
    connection.request("POST", "/api/v1/disputes", json.dumps(body), headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return answer["id"]


def last_evidence(port: int, auth: dict, dispute: str) -> str:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", f"/api/v1/disputes/{dispute}/evidence?limit=100", headers=auth)
    items = json.loads(connection.getresponse().read())["items"]
    connection.close()
    return items[-1]["id"]


def with_last_evidence(make, port: int, auth: dict, state: dict):
    """Downloads name the dispute's newest evidence (asked for on a side connection)."""

    def wrapped(client: int, n: int) -> Request:
        request = make(client, n)
        if request.path.endswith("/evidence/last"):
            item = last_evidence(port, auth, state["target"])
            request.path = request.path.replace("/last", f"/{item}")
        return request

    return wrapped


def table(result: dict) -> str:
    samples = result["samples"]
    lines = [
        f"One sync worker, {result['requests']:,} requests in {result['seconds']:.0f} s, "
        f"{result['errors']} errors; {result['uploads']} uploads of 10 MB, "
        f"{result['gib_moved']:.1f} GiB through the worker in all.",
        "",
        "| after requests | " + " | ".join(f"{n:,}" for n, _ in samples) + " |",
        "|---|" + "---:|" * len(samples),
        "| worker RSS (MiB) | " + " | ".join(f"{rss:.0f}" for _, rss in samples) + " |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    args = parser.parse_args()
    result = measure(args.requests)
    print(json.dumps(result), file=sys.stderr)
    text = table(result)
    print(text)
    if args.write:
        write_section(NAME, text)


if __name__ == "__main__":
    main()
