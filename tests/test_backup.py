"""Backups that restore: disputes with evidence, messages and a settlement agreement, backed up,
restored into an empty database and empty storage, and found whole; a damaged backup refused."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from itertools import count

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade

from odr import clock
from odr.cases.events import verify_all_chains
from odr.cases.models import Case, Event, Evidence
from odr.documents.models import Document
from odr.extensions import db
from odr.storage import get_storage
from tests.cases.test_evidence import must_upload, pdf
from tests.cases.test_evidence_media import real_png
from tests.conftest import build_app
from tests.factories import ApiClient, Dispute

_restores = count(1)


@pytest.fixture
def empty_app(app, mailbox):
    """Another app on an empty database of the same backend, with empty storage of its own."""
    other = build_app(app.backend, mailbox, name=f"restored{next(_restores)}.db")
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def settle(dispute: Dispute) -> None:
    offer = dispute.client("respondent").post(
        f"/api/v1/disputes/{dispute.id}/offers",
        {
            "amount": {"amount": "90.00", "currency": "EUR"},
            "remedy": "partial_refund",
            "terms": "The merchant refunds part of the price.",
            "performance_due": (clock.today() + timedelta(days=14)).isoformat(),
        },
    )
    assert offer.status_code == 201, offer.get_json()
    accepted = dispute.client("claimant").post(
        f"/api/v1/disputes/{dispute.id}/offers/{offer.get_json()['id']}/accept"
    )
    assert accepted.status_code == 200, accepted.get_json()


def lodge_several(app, api) -> list[Dispute]:
    disputes = [Dispute(app, api, respondent_email=f"shop{n}@merchant.example") for n in range(3)]
    for n, dispute in enumerate(disputes):
        must_upload(dispute.client("claimant"), dispute.id, f"photo{n}.png", real_png(40 + n, 30))
        must_upload(dispute.client("respondent"), dispute.id, f"invoice{n}.pdf", pdf())
        dispute.must("claimant", "post_message", body=f"Any news on order {n}?")
        dispute.must("respondent", "post_message", body="We are looking into it.")
    settle(disputes[0])
    return disputes


def stored_hashes(app) -> set[str]:
    with app.app_context():
        evidence = db.session.execute(sa.select(Evidence.sha256, Evidence.thumbnail_sha256))
        documents = db.session.scalars(sa.select(Document.sha256).where(Document.sha256 != None))  # noqa: E711
        found = {h for row in evidence for h in row if h} | set(documents)
        db.session.remove()
    return found


def chains(app) -> dict[str, list[tuple[int, str, str]]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Case.public_id, Event.seq, Event.kind, Event.hash)
            .join(Event, Event.case_id == Case.id)
            .order_by(Case.public_id, Event.seq)
        )
        found: dict[str, list[tuple[int, str, str]]] = {}
        for public_id, seq, kind, hash_ in rows:
            found.setdefault(public_id, []).append((seq, kind, hash_))
        db.session.remove()
    return found


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["odr", *args])


def test_a_backup_restores_every_dispute_event_chain_and_file(app, api, empty_app, tmp_path):
    disputes = lodge_several(app, api)
    hashes = stored_hashes(app)
    assert len(hashes) == 3 * 2 + 1 + 1  # photos and thumbnails, the one PDF, the agreement
    before = {d.id: d.read() for d in disputes}

    made = run(app, "backup", str(tmp_path / "backup"))
    assert made.exit_code == 0, made.stderr
    assert "events: " in made.stderr and f"files: {len(hashes)}/{len(hashes)}" in made.stderr
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["tables"]["cases"] == 3 and manifest["missing_files"] == []
    assert {n.removeprefix("files/") for n in manifest["files"] if n.startswith("files/")} == hashes

    with empty_app.app_context():  # a database without any schema: restore makes it
        downgrade(revision="base")
    restored = run(empty_app, "restore", str(tmp_path / "backup"))
    assert restored.exit_code == 0, restored.stderr
    assert f"migrating the schema from nothing to {manifest['revision']}" in restored.stderr
    assert "cases: 3 rows" in restored.stderr

    assert chains(empty_app) == chains(app)
    with empty_app.app_context():
        assert verify_all_chains() == []
        storage = get_storage()
        for sha256 in hashes:
            with storage.open(sha256) as stored:
                assert hashlib.sha256(stored.read()).hexdigest() == sha256
    for dispute in disputes:  # the same API tokens work: the accounts came back with the rows
        client = ApiClient(empty_app)
        client.token = dispute.client("claimant").token
        assert client.get(f"/api/v1/disputes/{dispute.id}").get_json() == before[dispute.id]
        items = client.get(f"/api/v1/disputes/{dispute.id}/evidence").get_json()["items"]
        for item in items:
            download = client.get(f"/api/v1/disputes/{dispute.id}/evidence/{item['id']}")
            assert hashlib.sha256(download.data).hexdigest() == item["sha256"]
    agreement = client_of(empty_app, disputes[0]).get(
        f"/api/v1/disputes/{disputes[0].id}/documents"
    )
    [document] = agreement.get_json()["items"]
    assert document["status"] == "ready"
    assert client_of(empty_app, disputes[0]).get(document["url"]).data.startswith(b"%PDF-")

    # New rows after a restore get new numbers, the next reference among them (the sequences and
    # the year's reference counter were moved on).
    after = Dispute(empty_app, ApiClient(empty_app), respondent_email="after@merchant.example")
    highest = max(before.values(), key=lambda d: d["reference"])["reference"]
    assert after.data["reference"] == f"{highest[:-6]}{int(highest[-6:]) + 1:06d}"


def client_of(app, dispute: Dispute) -> ApiClient:
    client = ApiClient(app)
    client.token = dispute.client("claimant").token
    return client


def test_a_damaged_backup_is_refused_naming_the_file_before_anything_is_written(
    app, api, empty_app, tmp_path
):
    lodge_several(app, api)
    assert run(app, "backup", str(tmp_path / "backup")).exit_code == 0
    [stored] = sorted((tmp_path / "backup" / "files").iterdir())[:1]
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    stored.write_bytes(bytes(damaged))

    refused = run(empty_app, "restore", str(tmp_path / "backup"))
    assert refused.exit_code == 1
    assert f"{stored} is damaged" in refused.stderr
    with empty_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        assert not get_storage().exists(stored.name)
        db.session.remove()


def test_restore_refuses_a_database_that_holds_rows(app, api, tmp_path):
    lodge_several(app, api)
    assert run(app, "backup", str(tmp_path / "backup")).exit_code == 0
    refused = run(app, "restore", str(tmp_path / "backup"))
    assert refused.exit_code == 1
    assert "is not empty (table " in refused.stderr
