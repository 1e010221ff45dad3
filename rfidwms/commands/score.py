"""``rfidwms score``: a run's ground truth against what the cloud concluded.

Reads the simulator's truth file (``rfidwms demo --truth`` / ``rfidwms sim
--truth``), fetches every page of the cloud's passages, zone events, weights and
``mis_shipment`` / ``weight_mismatch`` alerts since the run's start, the WMS's
pallets in stock, its count variances and its pick-route stats, and prints the figures of
``docs/accuracy.md``. A cloud serving several sites (``GET /api/sites``) is read for
one: ``--site``, else its first (``dc-1`` in the demo): ``site=`` on every list it
reads, the passages, zone events and weights too (the decisions are in
:mod:`rfidwms.scoring`). The API needs a token of role operator or admin: ``--token``
or ``RFIDWMS_TOKEN`` (the environment keeps it out of the process list). Exit 0; 1 when
``--require`` is given and a requirement fails; 2 for bad input (options, truth, API
items, a ``--site`` the cloud does not serve); 3 when
the API cannot be read (unreachable, an error, or the token missing, refused or of
a role that may not read the lists).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from firmware_sim.world.clock import iso_utc
from firmware_sim.world.truth import read_truth
from rfidwms.commands.argtypes import duration, iso_time
from rfidwms.scoring import (
    Report,
    ScoreInputError,
    ScoreOptions,
    parse_alerts,
    parse_pallets,
    parse_passages,
    parse_route_stats,
    parse_truth,
    parse_variances,
    parse_weights,
    parse_zone_events,
    score,
)

log = logging.getLogger("rfidwms.score")

PAGE_LIMIT = 1000
LISTS = ("passages", "zone-events", "weights")
"""Lists read since the run's start."""
ALERT_KINDS = ("mis_shipment", "weight_mismatch")


class ApiError(Exception):
    """The cloud API did not answer as its contract says; the message names the URL."""


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "score",
        help="score a run: the simulator's ground truth against the cloud's events and stock",
        description="Compare what the cloud concluded (passages, zone events, weights, the "
        "WMS's pallets, alerts and pick routes, from its API) with the simulator's ground "
        "truth and print the figures (docs/accuracy.md).",
    )
    p.add_argument("--truth", type=Path, required=True, help="the run's ground truth (JSON lines)")
    p.add_argument(
        "--api",
        default="http://127.0.0.1:8080/",
        help="the cloud's base URL (default http://127.0.0.1:8080/)",
    )
    p.add_argument(
        "--token",
        help="the API token (role operator or admin; default: RFIDWMS_TOKEN)",
    )
    p.add_argument(
        "--window",
        type=duration("--window", zero_ok=True),
        default=5.0,
        help="a passage finds a crossing of its EPC and door this close in time (default 5s)",
    )
    p.add_argument(
        "--warmup",
        type=duration("--warmup", zero_ok=True),
        default=120.0,
        help="do not score truth events this soon after the run's start (default 2m)",
    )
    p.add_argument(
        "--margin",
        type=duration("--margin", zero_ok=True),
        default=60.0,
        help="nor those this close to the run's end (default 1m)",
    )
    p.add_argument(
        "--zone-after",
        type=duration("--zone-after", zero_ok=True),
        default=2.0,
        help="judge a pallet's zone this long after its put-away (default 2s)",
    )
    p.add_argument(
        "--drop-down",
        type=duration("--drop-down", zero_ok=True),
        default=60.0,
        help="a dropped reader counts as down this long (default 60s)",
    )
    p.add_argument(
        "--end", type=iso_time, help="the run's end, ISO-8601 (default: the truth's last line)"
    )
    p.add_argument(
        "--site",
        help="the site whose run it was, when the cloud serves several (GET /api/sites; "
        "default: the cloud's first, dc-1 in the demo): its lists only, and its edges' events",
    )
    p.add_argument("--examples", type=int, default=5, help="misses listed per kind (default 5)")
    p.add_argument("--json", type=Path, help="also write the figures to this file as JSON")
    p.add_argument(
        "--require",
        action="store_true",
        help="exit 1 unless every requirement of docs/accuracy.md holds",
    )
    p.set_defaults(func=run)


def _refusal(e: urllib.error.HTTPError, token: str | None) -> str:
    """What a 401 or 403 means, for the person running the command."""
    try:
        detail = json.loads(e.read()).get("detail")
    except (OSError, ValueError, AttributeError):
        detail = None
    said = f" ({detail})" if isinstance(detail, str) else ""
    if e.code == 403:
        return f"the token's role may not read this{said}; use an operator's or admin's token"
    if token is None:
        return f"the API needs a token{said}: pass --token or set RFIDWMS_TOKEN"
    return f"the API refused the token{said}: it is unknown or revoked"


def _url(api: str, path: str) -> str:
    return urllib.parse.urljoin(api if api.endswith("/") else api + "/", f"api/{path}")


def _get(url: str, token: str | None, timeout: float) -> Any:
    """The JSON body of ``GET url``; :class:`urllib.error.HTTPError` for an HTTP error,
    :class:`ApiError` for anything else that goes wrong."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError:
        raise
    except (OSError, ValueError) as e:
        raise ApiError(f"{url}: {e}") from None


def _http_error(e: urllib.error.HTTPError, url: str, token: str | None) -> ApiError:
    if e.code in (401, 403):
        return ApiError(f"{url}: HTTP {e.code}: {_refusal(e, token)}")
    return ApiError(f"{url}: HTTP {e.code}")


def fetch_all(
    api: str,
    name: str,
    since: float | None,
    timeout: float = 30.0,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
    quiet_404: bool = False,
) -> list[dict[str, Any]] | None:
    """Every item of the paged list ``/api/<name>`` (since ``since`` when given, with
    the query ``params``), sending ``token`` as a bearer token; None when the API does
    not serve that list (404: a warning, unless ``quiet_404``)."""
    base = _url(api, name)
    query: dict[str, str] = dict(params or {})
    if since is not None:
        query["since"] = iso_utc(since)
    query["limit"] = str(PAGE_LIMIT)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:
        url = f"{base}?{urllib.parse.urlencode(query)}"
        try:
            page = _get(url, token, timeout)
        except urllib.error.HTTPError as e:
            if e.code == 404 and not items:
                if not quiet_404:
                    log.warning("%s: 404, the API does not serve %s; scored as none", base, name)
                return None
            raise _http_error(e, url, token) from None
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise ApiError(f"{url}: not a page {{'items': [...], 'next': ...}}")
        items.extend(page["items"])
        cursor = page.get("next")
        if cursor is None:
            return items
        if not isinstance(cursor, str) or cursor in seen:
            raise ApiError(f"{url}: next cursor {cursor!r:.60} is not a new cursor")
        seen.add(cursor)
        query["cursor"] = cursor


def fetch_one(
    api: str,
    path: str,
    timeout: float = 30.0,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
) -> Any | None:
    """The object ``/api/<path>`` answers (with the query ``params``); None when the API
    does not serve it (404)."""
    url = _url(api, path) + (f"?{urllib.parse.urlencode(params)}" if params else "")
    try:
        return _get(url, token, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            log.warning("%s: 404, the API does not serve it; reported as not served", url)
            return None
        raise _http_error(e, url, token) from None


@dataclasses.dataclass(frozen=True, slots=True)
class SiteScope:
    """The site a run is scored for: ``site=`` on every list read."""

    site: str

    def params(self) -> dict[str, str]:
        return {"site": self.site}


class SiteChoiceError(ValueError):
    """``--site`` names a site the cloud does not serve; the message names the served."""


def choose_site(served: list[dict[str, Any]], wanted: str | None) -> SiteScope:
    """The scope of a run (pure): ``wanted`` or the first of ``served`` (``GET
    /api/sites``'s items, the cloud's default site first). :class:`SiteChoiceError` for
    a site not served, ScoreInputError for items against the contract."""
    ids = [i.get("id") for i in served if isinstance(i, dict)]
    if not ids or not all(isinstance(x, str) for x in ids) or len(ids) != len(served):
        raise ScoreInputError(f"/api/sites: items without a string 'id': {served!r:.200}")
    site = wanted if wanted is not None else str(ids[0])
    if site not in ids:
        raise SiteChoiceError(
            f"--site {site!r} is not a site of this cloud (it serves {', '.join(map(str, ids))})"
        )
    return SiteScope(site)


def site_scope(api: str, token: str | None, wanted: str | None) -> SiteScope | None:
    """The run's site (:func:`choose_site`) from the cloud's sites; None when the cloud
    lists none (one that predates sites: everything it has is scored)."""
    served = fetch_all(api, "sites", None, token=token, quiet_404=True)
    if served is None:
        if wanted is not None:
            raise SiteChoiceError(f"--site {wanted!r}: the API at {api} lists no sites")
        return None
    return choose_site(served, wanted)


def run(args: argparse.Namespace) -> int:
    options = ScoreOptions(
        window_s=args.window,
        warmup_s=args.warmup,
        margin_s=args.margin,
        zone_after_s=args.zone_after,
        drop_down_s=args.drop_down,
        end=args.end,
        examples=max(0, args.examples),
    )
    try:
        truth = parse_truth(read_truth(args.truth))
    except (OSError, ValueError) as e:  # ScoreInputError and JSON errors are ValueErrors
        log.error("--truth %s: %s", args.truth, e)
        return 2
    try:
        token = args.token or os.environ.get("RFIDWMS_TOKEN") or None
        scope = site_scope(args.api, token, args.site)
        at = {} if scope is None else scope.params()
        raw = {
            name: fetch_all(args.api, name, truth.start, token=token, params=at) for name in LISTS
        }
        raw["pallets"] = fetch_all(args.api, "pallets", None, token=token, params=at)
        for kind in ALERT_KINDS:
            raw[f"alerts?kind={kind}"] = fetch_all(
                args.api, "alerts", truth.start, token=token, params={"kind": kind, **at}
            )
        raw["variances"] = fetch_all(args.api, "variances", None, token=token, params=at)
        route = fetch_one(args.api, "orders/route-stats", token=token, params=at or None)
        report = score(
            truth,
            parse_passages(raw["passages"] or []),
            parse_zone_events(raw["zone-events"] or []),
            parse_weights(raw["weights"] or []),
            options,
            pallets=parse_pallets(raw["pallets"] or []),
            alerts=parse_alerts(
                [a for kind in ALERT_KINDS for a in raw[f"alerts?kind={kind}"] or []]
            ),
            route=None if route is None else parse_route_stats(route),
            variances=None if raw["variances"] is None else parse_variances(raw["variances"]),
        )
        unserved = [f"/api/{name}" for name, items in raw.items() if items is None]
        if route is None:
            unserved.append("/api/orders/route-stats")
    except ApiError as e:
        log.error("the cloud API: %s", e)
        return 3
    except SiteChoiceError as e:
        log.error("%s", e)
        return 2
    except ScoreInputError as e:
        log.error("the cloud API at %s: %s", args.api, e)
        return 2
    site = None if scope is None else scope.site
    sys.stdout.write(format_report(report, str(args.truth), args.api, unserved, site))
    sys.stdout.flush()
    if args.json is not None:
        document = report_json(report, str(args.truth), args.api, unserved, site)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    failing = report.failures()
    if args.require and failing:
        log.error("requirements not met: %s", ", ".join(f.name for f in failing))
        return 1
    return 0


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "kg":
        return f"{value:.2f} kg"
    return f"{value:g}" + (f" {unit}" if unit else "")


def format_report(
    report: Report, truth: str, api: str, unserved: list[str], site: str | None = None
) -> str:
    o = report.options
    lo, hi = report.window
    lines = [
        f"scored run: {iso_utc(report.start)} to {iso_utc(report.end)} "
        f"({report.end - report.start:.0f} s simulated); truth {truth}; API {api}"
        + (f"; site {site}" if site is not None else ""),
        f"scored window: {iso_utc(lo)} to {iso_utc(hi)} (warm-up {o.warmup_s:g} s, "
        f"end margin {o.margin_s:g} s); passages matched within {o.window_s:g} s; "
        f"zones judged {o.zone_after_s:g} s after each put-away",
    ]
    scored = [
        f"{kind} {n} of {report.truth_kinds.get(kind, 0)}"
        for kind, n in report.scored_kinds.items()
        if kind != "fault"
    ]
    scored.append(
        f"fault: {report.scored_kinds['fault']} zone-reader outages "
        f"(of {report.truth_kinds.get('fault', 0)} fault lines)"
    )
    lines.append("truth events scored (of all in the file): " + ", ".join(scored))
    replayed = [f"{k} {n}" for k, n in report.replayed_kinds.items()]
    lines.append(
        "truth events replayed for the pallets at the end: " + (", ".join(replayed) or "none")
    )
    others = [
        f"{k} {n}"
        for k, n in report.truth_kinds.items()
        if k not in report.scored_kinds and k not in report.replayed_kinds
    ]
    lines.append("truth events not scored: " + (", ".join(others) or "none"))
    pallets = ", ".join(f"{k} {n}" for k, n in report.pallets.items())
    lines.append(f"pallets at the end: {pallets}")
    if any(report.mistakes.values()):

        def kinds(of: str) -> str:
            return ", ".join(f"{k} {n}" for k, n in report.mistakes[of].items()) or "none"

        lines.append(
            f"mistakes scored: {kinds('scored')}; not scored (no door or scale reached in "
            f"the window): {kinds('not scored')}; of kinds the scorer does not know: "
            f"{kinds('unknown')}"
        )
    c = report.cloud_counts
    lines.append(
        f"cloud: {c['passages']} passages ({c['passages in window']} in the window), "
        f"{c['zone events']} zone events, {c['weights']} weights, {c['pallets']} pallets "
        f"in stock, {c['alerts']} mis_shipment and weight_mismatch alerts"
        + (f", {c['variances']} count variances" if "variances" in c else "")
        + (f"; not served by the API (404): {', '.join(unserved)}" if unserved else "")
    )
    r = report.route
    if r is not None and r.orders:
        lines.append(
            f"pick routes: {r.orders} orders, {r.route_m:.0f} m against {r.naive_route_m:.0f} m "
            f"in the naive order, {r.route_m / r.orders:.1f} m against "
            f"{r.naive_route_m / r.orders:.1f} m per order"
        )
    lines.append("")
    lines.append(f"{'figure':<30} {'value':>12} {'over':>7}   {'need':<10} result")
    for f in report.figures:
        need = f.need or ""
        if f.need and f.unit in ("%", "s"):
            need += f" {f.unit}"
        ok = {True: "ok", False: "FAIL", None: ""}[f.ok()]
        row = f"{f.name:<30} {_value(f.value, f.unit):>12} {f.n:>7}   {need:<10} {ok}"
        lines.append(row.rstrip())
    if report.false_causes:
        causes = ", ".join(f"{k} {n}" for k, n in report.false_causes.items())
        lines.append(f"false passages by cause: {causes}")
    if report.misses:
        counts = ", ".join(f"{k} {n}" for k, n in report.miss_counts.items())
        lines += ["", f"misses: {counts}; the first {o.examples} of each:"]
        for m in report.misses:
            where = m.door or m.zone or "-"
            detail = f"  ({m.detail})" if m.detail else ""
            lines.append(f"  {m.what:<27} {m.epc}  {where:<8} {iso_utc(m.t)}{detail}")
    return "\n".join(lines) + "\n"


def report_json(
    report: Report, truth: str, api: str, unserved: list[str], site: str | None = None
) -> dict[str, Any]:
    o = report.options
    return {
        "truth": truth,
        "api": api,
        "site": site,
        "not_served": unserved,
        "start": iso_utc(report.start),
        "end": iso_utc(report.end),
        "window": {
            "from": iso_utc(report.window[0]),
            "to": iso_utc(report.window[1]),
            "warmup_s": o.warmup_s,
            "margin_s": o.margin_s,
            "match_window_s": o.window_s,
            "zone_after_s": o.zone_after_s,
            "drop_down_s": o.drop_down_s,
        },
        "truth_events": {
            kind: {
                "in_file": n,
                "scored": report.scored_kinds.get(kind),
                "replayed": kind in report.replayed_kinds,
            }
            for kind, n in report.truth_kinds.items()
        },
        "pallets": report.pallets,
        "mistakes": report.mistakes,
        "cloud": report.cloud_counts,
        "route": None if report.route is None else dataclasses.asdict(report.route),
        "figures": {
            f.name: {"value": f.value, "unit": f.unit, "n": f.n, "need": f.need, "ok": f.ok()}
            for f in report.figures
        },
        "false_causes": report.false_causes,
        "misses": {
            "counts": report.miss_counts,
            "first": [
                {
                    "what": m.what,
                    "epc": m.epc,
                    "t": iso_utc(m.t),
                    "door": m.door,
                    "zone": m.zone,
                    "detail": m.detail,
                }
                for m in report.misses
            ],
        },
    }
