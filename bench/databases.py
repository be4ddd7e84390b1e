"""The benchmarks' PostgreSQL databases: each bench works in one of its own, made afresh."""

from __future__ import annotations

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def recreate_postgres(database: str) -> None:
    """Drop the database (closing whatever is connected to it) and create it empty."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {database}")
    admin.dispose()
