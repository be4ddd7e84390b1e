"""Backups that restore: every table as JSON lines, every stored file, and a manifest of hashes.

A backup is a folder:

    manifest.json             what is in it: the SHA-256 and size of every other file, the schema
                              revision, the rows per table, when it was made
    tables/<table>.jsonl      one JSON object a row, tables in dependency order, `alembic_version`
    files/<sha256>            every stored file a row names (evidence, thumbnails, documents,
                              partner outcome documents: any `sha256` or `*_sha256` column)

It is portable between SQLite and PostgreSQL: values are written by their column's type (dates and
datetimes in ISO 8601, bytes in base64, decimals as strings, JSON as JSON) and read back the same
way. The rows are read in one repeatable-read transaction, so the dump is one moment of the
database; stored files are content-addressed and never removed, so each file a row of that moment
names is still there when it is copied afterwards.

Restore checks every hash of the manifest before it writes anything, refuses a database that holds
rows, migrates an empty one to the backup's revision, loads the rows in one transaction, moves
PostgreSQL's sequences and each year's reference counter past them, puts the files into storage
and verifies the result: counts, every case's event chain and the security log (under the same
`ODR_AUDIT_KEY`: the key is not in the backup and must be kept apart from it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.cases.numbering import settle_counters
from odr.extensions import db
from odr.storage import get_storage
from odr.storage.addressing import copy_hashed

FORMAT = 1
MANIFEST = "manifest.json"
ALEMBIC_TABLE = "alembic_version"
BATCH = 1000
CHUNK = 1024 * 1024
# Rows a migration writes into a new database (the security log's head); the backup's replace them.
SEEDED_BY_MIGRATIONS = frozenset({"security_chain"})

Echo = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup cannot be made or restored; the message says what to do."""


# ---- values by column type ------------------------------------------------------------------


def _python_type(column: sa.Column) -> type | None:
    kind = column.type
    while isinstance(kind, sa.TypeDecorator):  # `UTCDateTime` is a DateTime underneath
        kind = kind.impl_instance
    if isinstance(kind, sa.JSON):
        return None  # written as the JSON it is
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(column: sa.Column) -> Callable[[Any], Any]:
    kind = _python_type(column)
    if kind is datetime:
        return datetime.fromisoformat
    if kind is date:
        return date.fromisoformat
    if kind is time:
        return time.fromisoformat
    if kind is bytes:
        return base64.b64decode
    if kind is Decimal:
        return Decimal
    return lambda value: value


def _stored_file_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if c.name == "sha256" or c.name.endswith("_sha256")]


# ---- files and hashes -----------------------------------------------------------------------


def _file_digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _put_stored(path: Path) -> str:
    with path.open("rb") as handle:
        return get_storage().put_stream(handle)


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table(ALEMBIC_TABLE):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


# ---- backup ---------------------------------------------------------------------------------


def _snapshot(connection: sa.Connection) -> sa.Connection:
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ")
    return connection  # SQLite: a read transaction in WAL mode is a snapshot already


def backup(directory: str | Path, echo: Echo = lambda line: None) -> dict[str, Any]:
    """Write a backup of the database and the stored files into `directory` (new or empty)."""
    root = Path(directory)
    if root.exists() and any(root.iterdir()):
        raise BackupError(f"{root} is not empty: back up into a new folder")
    (root / "tables").mkdir(parents=True, exist_ok=True)
    (root / "files").mkdir(exist_ok=True)
    counts: dict[str, int] = {}
    wanted: dict[str, str] = {}  # sha256 -> the column that names it first
    with _snapshot(db.engine.connect()) as connection, connection.begin():
        revision = _revision(connection)
        if revision is None:
            raise BackupError("the database has no schema (run `flask db upgrade` first)")
        for table in db.metadata.sorted_tables:
            counts[table.name] = _dump_table(connection, table, root, wanted)
            echo(f"{table.name}: {counts[table.name]} rows")
        _write_lines(root / "tables" / f"{ALEMBIC_TABLE}.jsonl", [{"version_num": revision}])
    missing = _copy_stored_files(root, wanted, echo)
    manifest = {
        "format": FORMAT,
        "created_at": clock.now().isoformat(),
        "database": db.engine.dialect.name,
        "revision": revision,
        "tables": counts,
        "stored_files": len(wanted) - len(missing),
        "missing_files": missing,
        "files": _hashes(root),
    }
    # Written last: a folder without a manifest is an unfinished backup and restore refuses it.
    temporary = root / f".{MANIFEST}.partial"
    temporary.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    os.replace(temporary, root / MANIFEST)
    return manifest


def _dump_table(
    connection: sa.Connection, table: sa.Table, root: Path, wanted: dict[str, str]
) -> int:
    file_columns = _stored_file_columns(table)
    order = list(table.primary_key.columns) or list(table.columns)
    result = connection.execution_options(yield_per=BATCH).execute(
        sa.select(table).order_by(*order)
    )

    def rows() -> Iterator[dict[str, Any]]:
        for row in result.mappings():
            for name in file_columns:
                if row[name]:
                    wanted.setdefault(row[name], f"{table.name}.{name}")
            yield {key: _encode(value) for key, value in row.items()}

    return _write_lines(root / "tables" / f"{table.name}.jsonl", rows())


def _write_lines(path: Path, rows: Any) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


def _copy_stored_files(root: Path, wanted: dict[str, str], echo: Echo) -> list[dict[str, str]]:
    """Copy each file into files/, a chunk at a time; one storage lacks or holds damaged is
    listed in the manifest (and named on the terminal), not copied."""
    storage, missing = get_storage(), []
    total = len(wanted)
    for done, (sha256, named_by) in enumerate(sorted(wanted.items()), start=1):
        target = root / "files" / sha256
        try:
            with storage.open(sha256) as source, target.open("wb") as copy:
                found, _size = copy_hashed(source, copy)
            problem = None if found == sha256 else "damaged"
        except FileNotFoundError:
            problem = "missing"
        if problem:
            target.unlink(missing_ok=True)
            echo(f"warning: stored file {sha256} ({named_by}) is {problem} in storage")
            missing.append({"sha256": sha256, "named_by": named_by, "problem": problem})
        if done % 100 == 0 or done == total:
            echo(f"files: {done}/{total}")
    return missing


def _hashes(root: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        sha256, size = _file_digest(path)
        found[path.relative_to(root).as_posix()] = {"sha256": sha256, "size": size}
    return found


# ---- restore --------------------------------------------------------------------------------


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest, after checking that every file it lists is there with its size and hash."""
    root = Path(directory)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{root / MANIFEST} is missing: not a finished backup") from None
    except ValueError as error:
        raise BackupError(f"{root / MANIFEST} is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{root / MANIFEST}: format {manifest.get('format')!r} is not {FORMAT}")
    for name, expected in manifest["files"].items():
        path = root / name
        if not path.is_file():
            raise BackupError(f"{path} is missing from the backup")
        sha256, size = _file_digest(path)
        if (sha256, size) != (expected["sha256"], expected["size"]):
            raise BackupError(
                f"{path} is damaged: SHA-256 {sha256} and {size} bytes, the manifest says "
                f"{expected['sha256']} and {expected['size']} bytes"
            )
    return manifest


def restore(directory: str | Path, echo: Echo = lambda line: None) -> dict[str, Any]:
    """Restore a backup into this app's empty database and its storage; return the manifest."""
    root = Path(directory)
    manifest = read_manifest(root)
    echo(f"every file of the backup matches its SHA-256 ({len(manifest['files'])} files)")
    _refuse_rows()
    _migrate_to(manifest["revision"], echo)
    _load_tables(root, manifest, echo)
    files = sorted((root / "files").iterdir()) if (root / "files").is_dir() else []
    for done, path in enumerate(files, start=1):
        stored = _put_stored(path)
        if stored != path.name:
            raise BackupError(f"storage kept {path} as {stored}, not under its own SHA-256")
        if done % 100 == 0 or done == len(files):
            echo(f"files: {done}/{len(files)}")
    problems = verify_restored(manifest)
    if problems:
        raise BackupError("restored, but: " + "; ".join(problems))
    echo("verified: row counts, every event chain, the security log and every stored file")
    return manifest


def _refuse_rows() -> None:
    with db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in db.metadata.sorted_tables:
            if table.name in SEEDED_BY_MIGRATIONS or not inspector.has_table(table.name):
                continue
            if connection.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                url = db.engine.url.render_as_string(hide_password=True)
                raise BackupError(
                    f"the database {url} is not empty (table {table.name} has rows): "
                    "restore into an empty database"
                )


def _migrate_to(revision: str, echo: Echo) -> None:
    from flask_migrate import downgrade, upgrade

    current = _revision_now()
    if current == revision:
        return
    echo(f"migrating the schema from {current or 'nothing'} to {revision}")
    upgrade(revision=revision)
    if _revision_now() != revision:  # the empty schema is newer than the backup: step back
        downgrade(revision=revision)
    if _revision_now() != revision:
        raise BackupError(f"could not migrate the empty database to revision {revision}")


def _revision_now() -> str | None:
    with db.engine.connect() as connection:
        return _revision(connection)


def _deferred_columns(table: sa.Table, loaded: set[str]) -> list[str]:
    """Foreign keys to the table itself or to one not loaded yet: filled in once all rows are."""
    return [
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table.name == table.name or fk.column.table.name not in loaded
    ]


def _load_tables(root: Path, manifest: dict[str, Any], echo: Echo) -> None:
    loaded: set[str] = set()
    later: list[tuple[sa.Table, list[dict[str, Any]]]] = []
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in SEEDED_BY_MIGRATIONS:
                connection.execute(table.delete())
            deferred = _deferred_columns(table, loaded)
            updates: list[dict[str, Any]] = []
            count = 0
            for rows in _batches(root / "tables" / f"{table.name}.jsonl", table):
                for row in rows:
                    if any(row.get(name) is not None for name in deferred):
                        keys = {f"pk_{c.name}": row[c.name] for c in table.primary_key.columns}
                        updates.append(keys | {name: row[name] for name in deferred})
                        row.update(dict.fromkeys(deferred))
                connection.execute(table.insert(), rows)
                count += len(rows)
            expected = manifest["tables"].get(table.name, 0)
            if count != expected:
                raise BackupError(f"{table.name}: {count} rows read, the manifest says {expected}")
            echo(f"{table.name}: {count} rows")
            loaded.add(table.name)
            if updates:
                later.append((table, updates))
        for table, updates in later:
            where = [c == sa.bindparam(f"pk_{c.name}") for c in table.primary_key.columns]
            columns = {k: sa.bindparam(k) for k in updates[0] if not k.startswith("pk_")}
            connection.execute(table.update().where(*where).values(columns), updates)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
        settle_counters(connection)


def _batches(path: Path, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    decoders = {c.name: _decoder(c) for c in table.columns}
    if not path.exists():
        return
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            raw = json.loads(line)
            unknown = set(raw) - set(decoders)
            if unknown:
                raise BackupError(f"{path}: columns {sorted(unknown)} are not in {table.name}")
            batch.append(
                {k: None if v is None else decoders[k](v) for k, v in raw.items()}
                | {k: None for k in decoders if k not in raw}
            )
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _reset_sequences(connection: sa.Connection) -> None:
    """Each serial column's sequence past the largest value restored, so new rows do not clash."""
    for table in db.metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
            ).scalar()
            if sequence is None:
                continue
            largest = connection.execute(sa.select(sa.func.max(column))).scalar()
            connection.execute(
                sa.select(sa.func.setval(sequence, largest or 1, largest is not None))
            )


def verify_restored(manifest: dict[str, Any]) -> list[str]:
    """What differs between the database and storage and the backup's manifest ([] when none)."""
    from odr.accounts.audit import LOG_NAME, first_broken_security_event
    from odr.cases.events import verify_all_chains

    problems = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            expected = manifest["tables"].get(table.name, 0)
            if count != expected:
                problems.append(f"{table.name} has {count} rows, the backup {expected}")
    problems += [f"case {ref}: {problem}" for ref, problem in verify_all_chains()]
    security = first_broken_security_event()
    if security:
        problems.append(f"{LOG_NAME}: {security}")
    storage = get_storage()
    for name in manifest["files"]:
        if name.startswith("files/") and not storage.exists(name.removeprefix("files/")):
            problems.append(f"stored file {name.removeprefix('files/')} is not in storage")
    db.session.remove()
    return problems


def describe(manifest: dict[str, Any]) -> str:
    rows = sum(manifest["tables"].values())
    return (
        f"{rows} rows in {len(manifest['tables'])} tables and {manifest['stored_files']} stored "
        f"files, schema revision {manifest['revision']}"
    )
