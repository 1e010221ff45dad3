"""GS1 EPCIS 2.0 event export: ``GET /api/epcis/events`` (admin, operator, erp).

The answer is an ``EPCISQueryDocument`` (JSON-LD, ``application/ld+json``), as the
EPCIS 2.0 query interface answers ``GET /events``: the ledger's postings told as
ObjectEvents and AggregationEvents (:mod:`cloud.warehouse.epcis` says which), serialised
by :mod:`protocols.epcis`. Query parameters, named as EPCIS 2.0's SimpleEventQuery
names them:

- ``GE_eventTime``, ``LT_eventTime``: eventTime at or after, before (with a time zone);
- ``MATCH_epc`` (repeatable): events naming the EPC in epcList, parentID or childEPCs:
  an SSCC or SGTIN pure-identity URI, or a pallet's GS1 Digital Link
  ``https://id.gs1.org/00/<sscc>``;
- ``EQ_bizStep`` (repeatable): a CBV word (``receiving``) or its URI;
- ``eventType`` (repeatable): ``ObjectEvent``, ``AggregationEvent``;
- ``site``: one site only (rfidwms's own: events whose entries are booked there);
- ``perPage`` (1-1000, default 100) and ``nextPageToken``: the EPCIS REST paging. A
  page holds at most ``perPage`` events and ends on a whole ledger posting; when more
  follow, the answer carries ``Link: <…&nextPageToken=…>; rel="next"`` (and
  ``GS1-Next-Page-Token``), the token being the API's usual opaque cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from cloud.api.paging import MAX_CURSOR, MAX_LIMIT, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import epcis as db
from cloud.warehouse.epcis import (
    COUNT_STEP_OF_KIND,
    RETURN_STEP_OF_KIND,
    STEP_OF_KIND,
    count_kinds_of_steps,
    kinds_of_steps,
    page_of_events,
    return_kinds_of_steps,
)
from protocols.epc import EPCError, Sgtin96, Sscc96, decode_uri
from protocols.epcis import EpcisError, biz_step_word, query_document, sscc_uri

router = APIRouter(prefix="/api/epcis", tags=["epcis"])

MEDIA_TYPE = "application/ld+json"
EVENT_TYPES = ("ObjectEvent", "AggregationEvent")
_DL_SSCC = "https://id.gs1.org/00/"

TimeQ = Annotated[
    str | None, Query(description="ISO 8601 with a time zone, e.g. 2025-03-03T08:00:00Z")
]


def _time(field: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, detail=f"{field}: {text!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise HTTPException(422, detail=f"{field}: {text!r} has no time zone (add Z)")
    return t


async def _match(st: State, values: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(SSCCs of the pallets whose postings may name them, identifiers to match)."""
    ssccs: set[str] = set()
    names: set[str] = set()
    case_hex: list[str] = []
    for v in values:
        if v.startswith(_DL_SSCC):
            sscc = v[len(_DL_SSCC) :]
            if len(sscc) != 18 or not sscc.isdigit():
                raise HTTPException(422, detail=f"MATCH_epc: {v!r} is not an SSCC Digital Link")
            ssccs.add(sscc)
            continue
        try:
            decoded = decode_uri(v)
        except EPCError as e:
            raise HTTPException(422, detail=f"MATCH_epc: {v!r}: {e}") from None
        if isinstance(decoded, Sscc96):
            ssccs.add(decoded.sscc)
        elif isinstance(decoded, Sgtin96):
            names.add(decoded.uri)
            case_hex.extend(decode_uri(v, filter=f).to_hex() for f in range(8))
        else:
            raise HTTPException(
                422, detail=f"MATCH_epc: {v!r} is a {decoded.scheme}; give an SSCC or SGTIN"
            )
    async with st.pool.connection() as conn:
        known = dict(await db.pallet_epcs(conn, sorted(ssccs))) if ssccs else {}
        holding = [s for s, _ in await db.pallets_of_case(conn, case_hex)] if case_hex else []
    for sscc in ssccs:  # a pallet is named by its EPC URI, or its Digital Link without one
        names.add(sscc_uri(sscc))
        if known.get(sscc):
            names.add(sscc_uri(sscc, known[sscc]))
    ssccs.update(holding)  # a case: the postings of its pallet (their aggregation names it)
    return frozenset(ssccs), frozenset(names)


@router.get(
    "/events",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "an EPCISQueryDocument (EPCIS 2.0 JSON-LD)",
            "content": {MEDIA_TYPE: {}},
        },
        422: {"description": "a parameter that is not right, named"},
    },
)
async def events(
    request: Request,
    st: State,
    GE_eventTime: TimeQ = None,
    LT_eventTime: TimeQ = None,
    MATCH_epc: Annotated[
        list[str] | None, Query(max_length=200, description="an SSCC or SGTIN URI")
    ] = None,
    EQ_bizStep: Annotated[list[str] | None, Query(description="CBV business step")] = None,
    eventType: Annotated[
        list[str] | None, Query(description="ObjectEvent or AggregationEvent")
    ] = None,
    site: Annotated[str | None, Query(max_length=63, description="one site only")] = None,
    perPage: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="events per page")] = 100,
    nextPageToken: Annotated[
        str | None, Query(max_length=MAX_CURSOR, description="from the previous page's Link")
    ] = None,
) -> JSONResponse:
    """Stock movements as EPCIS 2.0 events (receiving, storing, picking, shipping;
    returns received, inspected and written off; counts: what an approved variance or a
    handheld count booked, as cycle_counting), with the pallets' aggregations of their
    cases."""
    since = _time("GE_eventTime", GE_eventTime)
    before = _time("LT_eventTime", LT_eventTime)
    kinds, returns, steps = frozenset(STEP_OF_KIND), frozenset(RETURN_STEP_OF_KIND), None
    counts = frozenset(COUNT_STEP_OF_KIND)
    if EQ_bizStep:
        try:
            steps = frozenset(biz_step_word(s) for s in EQ_bizStep)
        except EpcisError as e:
            raise HTTPException(422, detail=f"EQ_bizStep: {e}") from None
        kinds, returns = kinds_of_steps(steps), return_kinds_of_steps(steps)
        counts = count_kinds_of_steps(steps)
    types = None
    if eventType:
        wrong = [t for t in eventType if t not in EVENT_TYPES]
        if wrong:
            raise HTTPException(
                422, detail=f"eventType: {wrong[0]!r} is not one of {', '.join(EVENT_TYPES)}"
            )
        types = frozenset(eventType)
    after = 0 if nextPageToken is None else int(cursor_or_422(nextPageToken, int)[0])
    pallets, names = (None, None) if not MATCH_epc else await _match(st, MATCH_epc)
    f = db.PostingFilter(kinds, site, since, before, pallets, returns, counts)
    async with st.pool.connection() as conn:
        postings, more = await db.postings(conn, f, after=after, limit=perPage)
        keys = {(ln.site, ln.pallet) for p in postings for ln in p.lines if ln.pallet}
        cases = await db.pallet_cases(conn, keys)
    page = page_of_events(
        postings,
        cases,
        per_page=perPage,
        more=more,
        names=names,
        event_types=types,
        steps=steps,
        doors=st.sites.doors,
    )
    now = st.settings.now_clock()()
    headers = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
    if page.last_posting is not None:
        token = encode_cursor(page.last_posting)
        url = request.url.remove_query_params("nextPageToken").include_query_params(
            nextPageToken=token
        )
        headers["Link"] = f'<{url}>; rel="next"'
        headers["GS1-Next-Page-Token"] = token
    return JSONResponse(
        query_document(page.events, created=now), media_type=MEDIA_TYPE, headers=headers
    )
