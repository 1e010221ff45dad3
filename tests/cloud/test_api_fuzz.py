"""schemathesis over the cloud's whole OpenAPI, as every role and as nobody.

``rfidwms cloud`` runs as its users start it (a process of its own, on a real database
and broker). For every operation of its OpenAPI, schemathesis generates requests, valid
and invalid ones; each is sent with an admin's, an operator's, an ERP's and a customer's
token, and with none. No answer may be a 5xx, and after a refused one (4xx) no table
holds a row more or less than before. At the end the process still runs and is healthy.
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from authkit import bearer, issue_token_now
from conftest import fresh_database
from hypothesis import HealthCheck, Phase, settings
from running import RunningProcess, get_json
from schemathesis import GenerationMode

from cloud.api.app import create_app
from cloud.settings import CloudSettings
from cloud.warehouse.roles import Role

EXAMPLES = int(os.environ.get("RFIDWMS_TEST_API_FUZZ_EXAMPLES", "4"))
"""Examples per operation (each sent by 5 callers), valid and invalid ones, besides the
cases schemathesis always tries: some 60 operations stay within minutes;
``RFIDWMS_TEST_API_FUZZ_EXAMPLES`` for a deeper run."""

BACKGROUND_TABLES = frozenset({"schema_migrations", "ingest_state", "idempotency_keys"})
"""Tables the cloud writes whatever a request does (its own jobs and bookkeeping)."""


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document, from the app object (nothing is started)."""
    app = create_app(CloudSettings(database_url="postgresql://unused@127.0.0.1/unused"))
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi())
if os.environ.get("RFIDWMS_TEST_API_FUZZ_PATHS"):  # a regular expression, to focus a run
    schema = schema.include(path_regex=os.environ["RFIDWMS_TEST_API_FUZZ_PATHS"])
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],  # invalid requests too
    allow_x00=True,  # NUL characters in strings: PostgreSQL text cannot hold them
)


@dataclass
class Api:
    url: str
    database_url: str
    process: RunningProcess
    callers: dict[str, dict[str, str]]
    db: psycopg.Connection[Any]
    tables: list[str]
    requests: int = 0
    known: dict[str, int] | None = None
    """Row counts as last seen (None: unknown since a request was answered 2xx)."""

    def row_counts(self) -> dict[str, int]:
        """Rows per table (the tables the requests can touch)."""
        sql = " UNION ALL ".join(
            f"SELECT '{t}', count(*) FROM \"{t}\"" for t in self.tables
        )  # names come from pg_tables, not from outside
        return {name: n for name, n in self.db.execute(sql.encode()).fetchall()}


@pytest.fixture(scope="module")
def api(pg_admin_url: str, mqtt_url: str) -> Iterator[Api]:
    with fresh_database(pg_admin_url, "rfidwms_apifuzz") as database_url:
        site = f"apifuzz{uuid.uuid4().hex[:8]}"
        proc = RunningProcess(
            ["cloud", "--http-port", "0"],
            {
                "RFIDWMS_DATABASE_URL": database_url,
                "RFIDWMS_MQTT_URL": mqtt_url,
                "RFIDWMS_SITE": site,
                "RFIDWMS_INGEST_CLIENT_ID": f"apifuzz-{site}",
                "RFIDWMS_RATE_LIMIT_PER_S": "0",
                "RFIDWMS_WEBHOOKS_ENABLED": "false",
            },
        )
        try:
            line = proc.wait_for(
                lambda lines: next((ln for ln in lines if "serving http://" in ln), None),
                timeout=60,
            )
            url = re.search(r"serving (http://\S+)/", line).group(1)  # type: ignore[union-attr]
            callers = {"nobody": {}}
            for role in Role:
                callers[role.value] = bearer(issue_token_now(database_url, role, customer=None))
            with psycopg.connect(database_url, autocommit=True) as db:
                tables = [
                    t
                    for (t,) in db.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "ORDER BY tablename"
                    ).fetchall()
                    if t not in BACKGROUND_TABLES
                ]
                api = Api(url, database_url, proc, callers, db, tables)
                yield api
                print(f"{url}: {api.requests} requests")
            status, _health = get_json(f"{url}/api/health")
            assert status == 200 and proc.proc.poll() is None, proc.output()[-4000:]
        finally:
            proc.stop(signal.SIGTERM)
            proc.stop(signal.SIGKILL)
        first_error = next(
            (i for i, ln in enumerate(proc.lines) if " ERROR " in ln or "Traceback" in ln), None
        )
        assert first_error is None, "\n".join(proc.lines[first_error : first_error + 80])


@pytest.mark.timeout(120)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is shown as found
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_5xx_nor_stores_anything_when_refused(case, api: Api) -> None:
    for caller, headers in api.callers.items():
        before = api.known or api.row_counts()
        response = case.call(base_url=api.url, headers=headers, timeout=30)
        api.requests += 1
        what = (
            f"{caller}: {case.method} {case.formatted_path} query {case.query} "
            f"body {case.body!r:.300} -> {response.status_code}"
        )
        assert response.status_code < 500, f"{what}: {response.text[:2000]}"
        if 400 <= response.status_code < 500:
            after = api.known = api.row_counts()
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            assert not changed, f"{what} (refused) changed row counts {changed}"
        else:
            api.known = None


def test_a_nul_character_in_a_text_is_a_400_saying_so_and_stores_nothing(api: Api) -> None:
    """What the fuzzing found: PostgreSQL cannot hold NUL in a text (it was a 500)."""
    # a token of its own: the fuzzing before may have revoked the callers' tokens (it
    # sends every request, DELETE /api/tokens/{id} included, as admin)
    headers = bearer(issue_token_now(api.database_url, Role.ADMIN, customer=None))
    before = api.row_counts()
    for method, path, body in [
        ("GET", "/api/passages?door=door%001", None),
        ("GET", "/api/returns?customer=%00", None),
        ("POST", "/api/items", {"sku": "00000000000017", "name": "a\u0000b", "case_weight_kg": 1}),
    ]:
        r = httpx.request(method, f"{api.url}{path}", headers=headers, json=body, timeout=30)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert "NUL (0x00)" in r.json()["detail"], r.text
    assert api.row_counts() == before
