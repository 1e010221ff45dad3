"""The WMS's REST API as the simulated warehouse calls it: bearer token, timeouts, retries.

::

    async with WmsClient("http://127.0.0.1:8080/", token, name="erp") as wms:
        answer = await wms.post("/api/items", {"sku": ..., ...})
        if answer.ok: ...
        pallets = await wms.pages("/api/pallets", {"limit": 1000})

A connection error, a timeout or a 5xx answer is retried with exponential backoff
(``backoff_s``, doubling up to ``max_backoff_s``) up to ``attempts`` times (None: until
it works; the caller's task can always be cancelled), then :class:`WmsUnavailable`.
A 4xx is never retried: it is logged naming the request and the answer, and returned
(:attr:`Answer.ok` False) for the business to carry on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any

import httpx

__all__ = ["Answer", "WmsClient", "WmsError", "WmsUnavailable"]

logger = logging.getLogger(__name__)

_QUIET_S = 60.0
"""The same refusal (request, status) again within this long is logged at DEBUG."""


class _Default(Enum):
    CLIENTS = "the client's"


_CLIENTS = _Default.CLIENTS
"""``attempts`` left out: the client's own."""
Attempts = int | _Default | None


class WmsError(Exception):
    """Talking to the WMS went wrong; the message names the request."""


class WmsUnavailable(WmsError):
    """The WMS did not answer (connection errors, timeouts or 5xx) after the retries."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any
    """The JSON answer (the text when it is not JSON)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """The error's ``detail`` (FastAPI's), else the body, shortened."""
        found = self.body.get("detail") if isinstance(self.body, dict) else None
        return _short(found if found is not None else self.body)


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class WmsClient:
    """One caller of the WMS (one bearer token); an async context manager."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        name: str = "wms",
        timeout_s: float = 10.0,
        attempts: int | None = 5,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.base_url = base_url
        self.name = name
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout_s,
        )
        self._refusals: dict[tuple[str, str, int], float] = {}
        self._down_since: float | None = None

    async def __aenter__(self) -> WmsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self, path: str, params: dict[str, Any] | None = None, *, attempts: Attempts = _CLIENTS
    ) -> Answer:
        return await self.request("GET", path, params=params, attempts=attempts)

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        attempts: Attempts = _CLIENTS,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Answer:
        return await self.request(
            "POST", path, body=body, params=params, attempts=attempts, headers=headers
        )

    async def pages(
        self, path: str, params: dict[str, Any] | None = None, *, attempts: Attempts = _CLIENTS
    ) -> list[Any] | None:
        """Every item of a paged list (following ``next``); None when a page was refused
        (logged)."""
        items: list[Any] = []
        query = dict(params or {})
        while True:
            answer = await self.get(path, query, attempts=attempts)
            if not answer.ok or not isinstance(answer.body, dict):
                return None
            items += answer.body.get("items", [])
            cursor = answer.body.get("next")
            if not cursor:
                return items
            query["cursor"] = cursor

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        attempts: Attempts = _CLIENTS,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One call, retried on connection errors, timeouts and 5xx (``attempts``: this
        call's limit, None for no limit; left out: the client's); ``headers`` added to
        the client's (an ``Idempotency-Key``: a retried POST is the same)."""
        limit = self.attempts if isinstance(attempts, _Default) else attempts
        delay = self.backoff_s
        tried = 0
        while True:
            tried += 1
            try:
                r = await self._http.request(
                    method, path, json=body, params=params, headers=headers
                )
            except httpx.TransportError as e:
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            else:
                answer = Answer(r.status_code, _body(r))
                if r.status_code < 500:
                    self._back_up()
                    if r.status_code >= 400:
                        self._refused(method, path, body, answer)
                    return answer
                problem = f"{r.status_code} {answer.detail}"
            if limit is not None and tried >= limit:
                raise WmsUnavailable(
                    f"{self.name}: {method} {path}: {problem} (tried {tried} times)"
                )
            self._down(method, path, problem, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff_s)

    def _down(self, method: str, path: str, problem: str, delay: float) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning(
                "%s: %s %s: %s; retrying (backoff from %.1f s)",
                self.name,
                method,
                path,
                problem,
                delay,
            )
        else:
            logger.debug("%s: %s %s: %s; again in %.1f s", self.name, method, path, problem, delay)

    def _back_up(self) -> None:
        if self._down_since is not None:
            logger.info(
                "%s: the WMS answers again (after %.1f s)",
                self.name,
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    def _refused(self, method: str, path: str, body: Any, answer: Answer) -> None:
        key = (method, path.rsplit("/", 2)[0] if "/tasks/" in path else path, answer.status)
        now = time.monotonic()
        quiet = now - self._refusals.get(key, -_QUIET_S) < _QUIET_S
        if not quiet:
            self._refusals[key] = now
        sent = f" {_short(body, 200)}" if body is not None else ""
        logger.log(
            logging.DEBUG if quiet else logging.WARNING,
            "%s: %s %s%s -> %d %s",
            self.name,
            method,
            path,
            sent,
            answer.status,
            answer.detail,
        )


def _body(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text
