"""``rfidwms users``: users of the cloud API and their bearer tokens, in the database.

Works on ``RFIDWMS_DATABASE_URL`` (or ``--database-url``) directly, migrating it first
as ``rfidwms cloud`` does, so the first admin can exist before any API call:

- ``rfidwms users add --role R [--customer C] NAME``: a new user and its first token;
- ``rfidwms users token NAME``: another token for a user;
- ``rfidwms users list``: users and their tokens (never their secrets);
- ``rfidwms users revoke TOKEN_ID...`` or ``--user NAME`` (every token of the user).

A token is printed once, alone on stdout (``TOKEN=$(rfidwms users add ...)``), and
stored only as its SHA-256. Exit 0; 2 for bad input (options, a name taken or
unknown, a token id unknown); 1 when the database cannot be reached or migrated.
The work is :mod:`cloud.db.users`'.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

log = logging.getLogger("rfidwms.users")


class InputError(Exception):
    """Bad input: the message names it."""


def _pattern(option: str, pattern: str, what: str) -> Callable[[str], str]:
    rx = re.compile(pattern)

    def check(text: str) -> str:
        if not rx.match(text):
            raise argparse.ArgumentTypeError(
                f"{option}: {text!r} is not {what} starting with a letter or digit ({pattern})"
            )
        return text

    return check


def add_parser(sub: Any) -> None:
    from cloud.warehouse.roles import CUSTOMER_PATTERN, USER_NAME_PATTERN, Role

    p: argparse.ArgumentParser = sub.add_parser(
        "users",
        help="users of the cloud API and their bearer tokens",
        description="Users of the cloud API and their tokens, in the database of "
        "RFIDWMS_DATABASE_URL. A token is printed once and stored only hashed.",
    )
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (RFIDWMS_DATABASE_URL)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a user and print its first token")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument(
        "--customer",
        type=_pattern("--customer", CUSTOMER_PATTERN, "1-128 of A-Z a-z 0-9 _ . @ -"),
        help="the customer's id (role customer only, and required there)",
    )
    add.add_argument(
        "name",
        type=_pattern("NAME", USER_NAME_PATTERN, "1-63 of A-Z a-z 0-9 _ . @ -"),
        metavar="NAME",
    )
    add.set_defaults(func=run, work=_add)

    token = actions.add_parser("token", help="print a new token for an existing user")
    token.add_argument("name", metavar="NAME")
    token.set_defaults(func=run, work=_token)

    ls = actions.add_parser("list", help="list users and their tokens")
    ls.set_defaults(func=run, work=_list)

    revoke = actions.add_parser("revoke", help="revoke tokens (by id, or all of a user's)")
    revoke.add_argument("token_ids", nargs="*", type=int, metavar="TOKEN_ID")
    revoke.add_argument("--user", help="revoke every token of this user")
    revoke.set_defaults(func=run, work=_revoke)


def run(args: argparse.Namespace) -> int:
    import psycopg

    from cloud.db.migrate import MigrationError, apply_migrations
    from cloud.settings import CloudSettings
    from protocols.settings import SettingsError, load_settings

    if args.action == "revoke" and not args.token_ids and args.user is None:
        log.error("users revoke: name the TOKEN_IDs to revoke, or --user NAME")
        return 2
    try:
        settings = load_settings(CloudSettings, database_url=args.database_url)
    except SettingsError as e:
        log.error("%s", e)
        return 2
    work: Callable[[Any, argparse.Namespace, datetime], Awaitable[None]] = args.work

    async def main() -> None:
        await apply_migrations(settings.database_url)
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=True
        ) as conn:
            await work(conn, args, settings.now_clock()())

    try:
        asyncio.run(main())
    except InputError as e:
        log.error("users %s: %s", args.action, e)
        return 2
    except MigrationError as e:
        log.error("%s", e)
        return 1
    except psycopg.Error as e:
        log.error("users %s: the database: %s", args.action, " ".join(str(e).split()))
        return 1
    return 0


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _add(conn: Any, args: argparse.Namespace, now: datetime) -> None:
    from cloud.db import users
    from cloud.warehouse.roles import CustomerRuleError, Role

    role = Role(args.role)
    try:
        user = await users.create_user(conn, args.name, role, args.customer, at=now)
    except (users.UserExistsError, CustomerRuleError) as e:
        raise InputError(str(e)) from None
    issued = await users.issue_token(conn, user, at=now)
    log.info(
        "added user %r (id %d, role %s%s) with token %d; the token is printed once, keep it",
        user.name,
        user.id,
        role.value,
        f", customer {user.customer}" if user.customer else "",
        issued.id,
    )
    _print(issued.token)


async def _user(conn: Any, name: str) -> Any:
    from cloud.db import users

    user = await users.user_by_name(conn, name)
    if user is None:
        raise InputError(f"no user is named {name!r} (rfidwms users list)")
    return user


async def _token(conn: Any, args: argparse.Namespace, now: datetime) -> None:
    from cloud.db import users

    user = await _user(conn, args.name)
    issued = await users.issue_token(conn, user, at=now)
    log.info("token %d for user %r; printed once, keep it", issued.id, user.name)
    _print(issued.token)


def _when(t: datetime | None) -> str:
    return "-" if t is None else t.isoformat(timespec="seconds").replace("+00:00", "Z")


async def _list(conn: Any, args: argparse.Namespace, now: datetime) -> None:
    from cloud.db import users

    after = 0
    _print(f"{'id':>5}  {'name':<24} {'role':<9} {'customer':<16} created")
    while True:
        page = await users.users_after(conn, after, 500)
        if not page:
            return
        tokens = await users.tokens_of(conn, [u.id for u in page])
        for u in page:
            _print(
                f"{u.id:>5}  {u.name:<24} {u.role.value:<9} {u.customer or '-':<16} "
                f"{_when(u.created_at)}"
            )
            for t in tokens[u.id]:
                state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "valid"
                _print(
                    f"{'':>5}    token {t.id}: created {_when(t.created_at)}, "
                    f"last used {_when(t.last_used_at) if t.last_used_at else 'never'}, {state}"
                )
        after = page[-1].id


async def _revoke(conn: Any, args: argparse.Namespace, now: datetime) -> None:
    from cloud.db import users

    if args.user is not None:
        user = await _user(conn, args.user)
        n = await users.revoke_tokens_of(conn, user.id, at=now)
        log.info("revoked %d token(s) of user %r", n, user.name)
    unknown = []
    for token_id in args.token_ids:
        found = await users.revoke_token(conn, token_id, at=now)
        if found is None:
            unknown.append(token_id)
        else:
            log.info("revoked token %d (of user id %d)", token_id, found.user_id)
    if unknown:
        raise InputError(f"no token has id {', '.join(map(str, unknown))}")
