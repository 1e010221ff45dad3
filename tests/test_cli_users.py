"""``rfidwms users``: users and tokens in the database of RFIDWMS_DATABASE_URL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import psycopg
import pytest

from cloud.db import users
from rfidwms.cli import main

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RFIDWMS_DATABASE_URL", database_url)
    return database_url


def owner(database_url: str, token: str) -> users.TokenOwner | None:
    async def find() -> users.TokenOwner | None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return await users.token_owner(conn, token)

    return asyncio.run(find())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["users", *argv])
    return code, capsys.readouterr().out


def test_add_prints_only_the_token_of_the_new_user_once(db, capsys):
    code, out = run(capsys, "add", "--role", "customer", "--customer", "acme", "acme-buyer")
    assert code == 0
    token = out.strip()
    assert TOKEN.match(token) and out == token + "\n"
    found = owner(db, token)
    assert found is not None
    assert (found.user.name, found.user.role.value, found.user.customer) == (
        "acme-buyer",
        "customer",
        "acme",
    )
    code, listed = run(capsys, "list")
    assert code == 0 and token not in listed
    assert re.search(r"acme-buyer\s+customer\s+acme", listed), listed
    assert "token 1: created" in listed and "last used never, valid" in listed


def test_token_gives_a_user_another_and_revoke_takes_them_back(db, capsys):
    _, out = run(capsys, "add", "--role", "operator", "night-shift")
    first = out.strip()
    code, out = run(capsys, "token", "night-shift")
    second = out.strip()
    assert code == 0 and TOKEN.match(second) and second != first
    assert owner(db, first) is not None and owner(db, second) is not None

    assert run(capsys, "revoke", "1")[0] == 0
    assert owner(db, first) is None and owner(db, second) is not None
    assert run(capsys, "revoke", "--user", "night-shift")[0] == 0
    assert owner(db, second) is None
    _, listed = run(capsys, "list")
    assert listed.count(", revoked 20") == 2


def test_bad_input_exits_2_naming_it_and_changes_nothing(db, capsys, caplog: Any):
    assert run(capsys, "add", "--role", "admin", "root")[0] == 0
    assert run(capsys, "add", "--role", "erp", "root") == (2, "")
    assert "user 'root' exists already" in caplog.text
    assert run(capsys, "add", "--role", "customer", "someone") == (2, "")
    assert "a user of role 'customer' needs a customer id (customer)" in caplog.text
    assert run(capsys, "add", "--role", "erp", "--customer", "acme", "erp-1") == (2, "")
    assert "customer 'acme' is only for role 'customer'" in caplog.text
    assert run(capsys, "token", "nobody") == (2, "")
    assert "no user is named 'nobody'" in caplog.text
    assert run(capsys, "revoke", "77")[0] == 2
    assert "no token has id 77" in caplog.text
    assert run(capsys, "revoke")[0] == 2
    _, listed = run(capsys, "list")
    assert [ln.split()[1] for ln in listed.splitlines()[1:] if ln.split()[0].isdigit()] == ["root"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "--role", "boss", "x"], "invalid choice: 'boss'"),
        (["add", "--role", "erp", "no spaces"], "NAME: 'no spaces' is not"),
        (["add", "--role", "customer", "--customer", "a/b", "x"], "--customer: 'a/b' is not"),
    ],
)
def test_bad_options_are_refused_by_name(db, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(["users", *argv])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_database_exits_1_naming_it(monkeypatch, capsys, caplog: Any):
    monkeypatch.setenv(
        "RFIDWMS_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1"
    )
    assert run(capsys, "list") == (1, "")
    assert "cannot connect to the database to migrate it" in caplog.text
