"""Apply the versioned SQL migrations in ``cloud/migrations`` to a database.

``await apply_migrations(url)`` brings a database to the newest schema. It is safe
to call at every start and from several processes at once:

- a ``schema_migrations`` table records each applied version, its variant and the
  checksum of its SQL, so a re-run applies nothing and a migration edited after it
  was applied is refused;
- each migration runs in its own transaction together with its bookkeeping row;
- a session-level advisory lock serialises processes that start together.

A step can come in two variants (``NNNN_x.timescale.sql`` / ``NNNN_x.plain.sql``);
which one runs is decided once per database by :func:`detect_timescale`, or
injected by the caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

log = logging.getLogger(__name__)

Variant = Literal["all", "timescale", "plain"]
ADVISORY_LOCK_KEY = 0x7266_6964_776D_7301  # "rfidwms" + 1: one lock for all rfidwms migrations
_FILE = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<variant>timescale|plain))?\.sql$"
)


class MigrationError(RuntimeError):
    """The migrations cannot be applied; the message names the migration and why."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    variant: Variant
    sql: str

    @property
    def filename(self) -> str:
        suffix = "" if self.variant == "all" else f".{self.variant}"
        return f"{self.version:04d}_{self.name}{suffix}.sql"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    version: int
    variant: Variant
    checksum: str


def parse_migrations(files: Mapping[str, str]) -> dict[int, dict[Variant, Migration]]:
    """Group migration files (name -> SQL text) by version, checking that each version
    is either one file for all databases or a timescale/plain pair."""
    steps: dict[int, dict[Variant, Migration]] = {}
    for filename, sql in files.items():
        m = _FILE.match(filename)
        if m is None:
            raise MigrationError(
                f"migration file {filename!r} is not named NNNN_name.sql, "
                "NNNN_name.timescale.sql or NNNN_name.plain.sql"
            )
        variant: Variant = m.group("variant") or "all"  # type: ignore[assignment]
        mig = Migration(int(m.group("version")), m.group("name"), variant, sql)
        step = steps.setdefault(mig.version, {})
        if variant in step:
            raise MigrationError(f"migration {mig.version:04d} has two {variant!r} files")
        step[variant] = mig
    for version, step in steps.items():
        kinds = set(step)
        if kinds != {"all"} and kinds != {"timescale", "plain"}:
            names = sorted(m.filename for m in step.values())
            raise MigrationError(
                f"migration {version:04d} must be one .sql file or a .timescale.sql/.plain.sql "
                f"pair, found {names}"
            )
    return steps


def plan_migrations(
    steps: Mapping[int, Mapping[Variant, Migration]],
    applied: Mapping[int, AppliedMigration],
    *,
    timescale: bool,
) -> list[Migration]:
    """The migrations still to run, in order. Pure: the TimescaleDB decision is an input.

    Raises :class:`MigrationError` when an applied migration's SQL has changed since.
    """
    pending: list[Migration] = []
    for version in sorted(steps):
        step = steps[version]
        done = applied.get(version)
        if done is not None:
            ran = step.get(done.variant)
            if ran is None:
                raise MigrationError(
                    f"migration {version:04d} was applied as variant {done.variant!r}, "
                    f"which this build does not have (it has {sorted(step)})"
                )
            if ran.checksum != done.checksum:
                raise MigrationError(
                    f"migration {ran.filename} changed after it was applied to this database "
                    "(checksum differs); add a new migration instead of editing an applied one"
                )
            continue
        pending.append(
            step["all"] if "all" in step else step["timescale" if timescale else "plain"]
        )
    return pending


def bundled_migrations() -> dict[str, str]:
    """The migration files shipped in ``cloud/migrations``."""
    root = resources.files("cloud.migrations")
    return {
        p.name: p.read_text("utf-8")
        for p in root.iterdir()
        if p.is_file() and p.name.endswith(".sql")
    }


async def detect_timescale(conn: psycopg.AsyncConnection[TupleRow]) -> bool:
    """Whether the TimescaleDB path can be used: the extension is installed already, or
    it is available and preloaded (``CREATE EXTENSION`` needs ``shared_preload_libraries``).

    ``shared_preload_libraries`` is read only when it matters (available, not
    installed): reading it needs superuser or ``pg_read_all_settings``, and a role
    without either gets plain tables rather than an error.
    """
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),"
        " EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
    )
    row = await cur.fetchone()
    assert row is not None
    available, installed = row
    if installed:
        return True
    if not available:
        return False
    try:
        cur = await conn.execute("SELECT current_setting('shared_preload_libraries')")
        preload = (await cur.fetchone() or ("",))[0]
    except psycopg.errors.InsufficientPrivilege as e:
        log.warning(
            "timescaledb is available but this role cannot read shared_preload_libraries "
            "(%s); using plain PostgreSQL tables",
            str(e).strip(),
        )
        return False
    if "timescaledb" not in str(preload):
        log.warning(
            "timescaledb is available but not in shared_preload_libraries (%r); "
            "using plain PostgreSQL tables",
            preload,
        )
        return False
    return True


async def _applied(conn: psycopg.AsyncConnection[TupleRow]) -> dict[int, AppliedMigration]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, variant text NOT NULL,"
        " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    cur = await conn.execute("SELECT version, variant, checksum FROM schema_migrations")
    return {
        v: AppliedMigration(v, variant, checksum) for v, variant, checksum in await cur.fetchall()
    }


async def apply_migrations(
    conninfo: str,
    *,
    timescale: bool | None = None,
    files: Mapping[str, str] | None = None,
) -> list[Migration]:
    """Bring the database at ``conninfo`` up to date; return the migrations applied.

    ``timescale`` forces the TimescaleDB decision (detected when None); ``files``
    replaces the bundled migration files (name -> SQL).
    """
    steps = parse_migrations(bundled_migrations() if files is None else files)
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.Error as e:
        raise MigrationError(f"cannot connect to the database to migrate it: {_one_line(e)}") from e
    try:
        async with conn:
            return await _migrate(conn, steps, timescale)
    except psycopg.Error as e:
        raise MigrationError(f"cannot migrate the database: {_one_line(e)}") from e


def _one_line(e: psycopg.Error) -> str:
    """The error's class and its primary message on one line (no LINE/caret context)."""
    text = " ".join((e.diag.message_primary or str(e)).split()) or "(no message)"
    if e.diag.message_detail:
        text += f" ({' '.join(e.diag.message_detail.split())})"
    hint = (
        " (the role that migrates must own the database, or may create in its schema)"
        if isinstance(e, psycopg.errors.InsufficientPrivilege)
        else ""
    )
    return f"{type(e).__name__}: {text}{hint}"


async def _migrate(
    conn: psycopg.AsyncConnection[TupleRow],
    steps: Mapping[int, Mapping[Variant, Migration]],
    timescale: bool | None,
) -> list[Migration]:
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    got = await cur.fetchone()
    if not (got and got[0]):
        log.info("another process is migrating this database; waiting for it")
        await conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        applied = await _applied(conn)
        use_timescale = await detect_timescale(conn) if timescale is None else timescale
        pending = plan_migrations(steps, applied, timescale=use_timescale)
        for mig in pending:
            log.info("applying migration %s", mig.filename)
            try:
                async with conn.transaction():
                    await conn.execute(mig.sql.encode("utf-8"))
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, variant, checksum)"
                        " VALUES (%s, %s, %s, %s)",
                        (mig.version, mig.name, mig.variant, mig.checksum),
                    )
            except psycopg.Error as e:
                raise MigrationError(f"migration {mig.filename} failed: {_one_line(e)}") from e
        unknown = sorted(set(applied) - set(steps))
        if unknown:
            log.warning("database has migrations this build does not know: %s", unknown)
        if not pending:
            log.debug("database schema is up to date (%d migrations)", len(applied))
        return pending
    finally:
        with contextlib.suppress(psycopg.Error):
            await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
