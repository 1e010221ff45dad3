"""``rfidwms kpis`` against a real cloud (uvicorn on a thread, real PostgreSQL): the
KPIs printed as lines and as JSON, the period and site passed on, errors as exit codes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import psycopg
import pytest
from authkit import issue_token_now
from test_cli_score import serving

from cloud.db import stock
from cloud.db.migrate import apply_migrations
from cloud.settings import CloudSettings
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, Position, StockState, receipt
from rfidwms.cli import main
from rfidwms.embedded import free_port

T0 = datetime(2025, 3, 3, tzinfo=UTC)
SKU = "00614141123452"


async def ten_cases_at_noon(database_url: str, site: str) -> None:
    """10 cases received at 12:00 on 2025-03-03: on hand 0 until noon, 10 after."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        position = Position(Bucket(site, SKU, "L1", "zone-a", StockState.AVAILABLE))
        at = T0.replace(hour=12)
        await stock.post(conn, receipt(position, 10, cause=Cause(CauseKind.USER, "t"), time=at))


def test_kpis_are_printed_for_the_period_and_site_asked(
    database_url: str, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(apply_migrations(database_url))
    asyncio.run(ten_cases_at_noon(database_url, site))
    erp = issue_token_now(database_url, "erp")
    customer = issue_token_now(database_url, "customer", customer="acme")
    day = ["--from", "2025-03-03T00:00:00Z", "--to", "2025-03-04T00:00:00Z"]
    with serving(CloudSettings(database_url=database_url, site=site, http_port=0)) as url:
        argv = ["kpis", "--api", url, "--token", erp, *day]
        assert main([*argv, "--site", site, "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert (answer["site"], answer["from"], answer["to"]) == (
            site,
            "2025-03-03T00:00:00Z",
            "2025-03-04T00:00:00Z",
        )
        kpis = {k["name"]: k for k in answer["kpis"]}
        # half a day at 0, half at 10: 5 on average; nothing shipped
        assert (kpis["inventory_turnover"]["value"], kpis["inventory_turnover"]["denominator"]) == (
            0.0,
            5.0,
        )
        assert kpis["fill_rate"]["value"] is None

        assert main(argv) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "KPIs of all sites, from 2025-03-03T00:00:00Z to 2025-03-04T00:00:00Z"
        lines = {line.split()[0]: line for line in out[1:]}
        assert list(lines) == list(kpis)
        assert lines["inventory_turnover"].split() == ["inventory_turnover", "0", "turns", "(0",
                                                       "/", "5)"]  # fmt: skip
        assert lines["fill_rate"].split()[1] == "n/a"

        assert main([*argv, "--site", "elsewhere", "--json"]) == 0
        elsewhere = json.loads(capsys.readouterr().out)
        assert elsewhere["kpis"][0]["denominator"] == 0

        # refused, unreachable, or asked nonsense
        assert main(["kpis", "--api", url, "--token", customer]) == 3
        assert main(["kpis", "--api", url, "--token", "not-a-token"]) == 3
        assert main(["kpis", "--api", f"http://127.0.0.1:{free_port()}/", "--token", erp]) == 3
    assert main(["kpis", "--api", "http://127.0.0.1:9/", "--from", "2025-03-04T00:00:00Z",
                 "--to", "2025-03-03T00:00:00Z"]) == 2  # fmt: skip
    with pytest.raises(SystemExit) as e:
        main(["kpis", "--api", "http://127.0.0.1:9/", "--from", "soon"])
    assert e.value.code == 2
