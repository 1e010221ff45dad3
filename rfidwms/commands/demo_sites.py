"""The warehouses ``rfidwms demo`` runs, and what each one's parts are given. Pure.

The demo serves two sites from one cloud (:func:`plan_sites`): ``dc-1`` (``--layout``,
else the bundled demo layout; ``--scenario``, else ``demo``) and the smaller ``dc-2``
(the bundled ``dc-2`` layout and the ``small-site`` scenario), or the first alone
(``--no-second-site``). ``RFIDWMS_SITES``, the cloud's own setting, names the sites and
their layouts instead (one or two; its second runs ``small-site``), and ``RFIDWMS_SITE``
renames the first. Each site has its own simulator and an edge agent per edge id of its
layout, on ports of its own (:func:`port_ranges`), its own ground truth
(:func:`truth_path`), and the faults aimed at its devices (:func:`route_faults`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloud.warehouse.sites import SiteError, Sites, layout_edges
from protocols.layout import Layout

__all__ = [
    "FIRST_SITE",
    "SECOND_SCENARIO",
    "SECOND_SITE",
    "DemoSite",
    "DemoSiteError",
    "PortRanges",
    "SiteEntry",
    "plan_sites",
    "port_ranges",
    "route_faults",
    "sites_setting",
    "truth_path",
]

FIRST_SITE = "dc-1"
SECOND_SITE = "dc-2"
SECOND_LAYOUT = "dc-2.yaml"
"""The bundled layout (in ``protocols/layouts``) of the demo's second site."""
SECOND_SCENARIO = "small-site"
"""The bundled scenario of the demo's second site: quieter, goods of its own."""


class DemoSiteError(ValueError):
    """The sites asked for cannot run together; the message names the setting or id."""


@dataclass(frozen=True, slots=True)
class SiteEntry:
    """A site asked for: its id and layout file (None: the bundled demo layout)."""

    id: str
    layout_path: Path | None


@dataclass(frozen=True, slots=True)
class DemoSite:
    """One warehouse of the demo: its simulator's and edges' settings."""

    id: str
    layout_path: Path | None
    """Handed to the simulator, the edges and the cloud; None: the bundled demo layout."""
    layout: Layout
    scenario: str | None
    """The simulator's ``--scenario``; None: its default (``demo``)."""

    @property
    def edges(self) -> list[str]:
        """The edge agents it needs: one per edge id of its layout."""
        return sorted(layout_edges(self.layout))


def plan_sites(
    *,
    first: str,
    first_layout: Path | None,
    sites: Sequence[SiteEntry],
    second_site: bool,
    second_layout: Path,
    scenario: str | None,
    load: Callable[[Path | None], Layout],
) -> list[DemoSite]:
    """The demo's sites, first (the cloud's default site) first.

    ``first``/``first_layout``: ``RFIDWMS_SITE`` and ``--layout``/``RFIDWMS_LAYOUT``;
    ``sites``: ``RFIDWMS_SITES`` parsed (empty when unset), which names the sites with
    their layouts instead; ``second_site``: ``--second-site``; ``second_layout``: the
    bundled ``dc-2`` layout's file; ``scenario``: ``--scenario``, the first site's;
    ``load`` reads a layout (LayoutError naming a bad file). :class:`DemoSiteError`
    when they do not fit together or two layouts share an id (one cloud needs every
    edge, reader, scale, zone and door id to name one thing)."""
    if sites:
        if first_layout is not None:
            raise DemoSiteError(
                "RFIDWMS_LAYOUT or --layout is set and so is RFIDWMS_SITES, which names "
                "each site's layout file: set one of them"
            )
        if len(sites) > 2:
            raise DemoSiteError(
                f"RFIDWMS_SITES names {len(sites)} sites; the demo runs one or two "
                f"({', '.join(s.id for s in sites)})"
            )
        entries = list(sites)
    else:
        entries = [SiteEntry(first, first_layout), SiteEntry(SECOND_SITE, second_layout)]
    if not second_site:
        entries = entries[:1]
    for e in entries:
        if e.layout_path is not None and ("," in str(e.layout_path) or "=" in str(e.layout_path)):
            raise DemoSiteError(
                f"layout {str(e.layout_path)!r} of site {e.id!r}: a path with ',' or '=' "
                "cannot be named in RFIDWMS_SITES; move or link the file"
            )
    planned = [
        DemoSite(e.id, e.layout_path, load(e.layout_path), scenario if n == 0 else SECOND_SCENARIO)
        for n, e in enumerate(entries)
    ]
    try:
        Sites.of((s.id, s.layout) for s in planned)
    except SiteError as e:
        hint = " (--no-second-site runs the first alone)" if len(planned) > 1 else ""
        raise DemoSiteError(f"the demo's sites cannot share one cloud: {e}{hint}") from None
    return planned


def sites_setting(sites: Sequence[DemoSite]) -> str:
    """``RFIDWMS_SITES`` for the cloud: ``dc-1,dc-2=/…/dc-2.yaml`` (a site without a file:
    the bundled demo layout)."""
    return ",".join(s.id if s.layout_path is None else f"{s.id}={s.layout_path}" for s in sites)


def truth_path(first: Path, site: str, position: int) -> Path:
    """Where a site's simulator writes its ground truth: the first site's at ``first``,
    each other's next to it, named for the site (``ground-truth-dc-2.jsonl``)."""
    if position == 0:
        return first
    return first.with_name(f"{first.stem}-{site}{first.suffix}")


def route_faults(
    faults: Sequence[tuple[str, str]], sites: Sequence[DemoSite]
) -> dict[str, list[str]]:
    """Each ``(target, spec)`` fault to the site whose layout has a reader or scale of
    that id (ids are unique across the demo's sites); one no site has goes to the first,
    whose simulator refuses it naming the target. ``{site: [spec, ...]}`` in order."""
    routed: dict[str, list[str]] = {s.id: [] for s in sites}
    for target, spec in faults:
        owner = next(
            (
                s.id
                for s in sites
                if any(r.id == target for r in s.layout.readers)
                or any(c.id == target for c in s.layout.scales)
            ),
            sites[0].id,
        )
        routed[owner].append(spec)
    return routed


@dataclass(frozen=True, slots=True)
class PortRanges:
    """A site's device ports: its readers' from ``llrp``, its scales' from ``scale``, in
    layout order (the simulator's and the edge's numbering)."""

    llrp: int
    scale: int


def port_ranges(
    sites: Sequence[DemoSite],
    free_range: Callable[[int, int], int],
    *,
    llrp_start: int = 5084,
    scale_offset: int = 100,
) -> dict[str, PortRanges]:
    """Ports for every site's readers and scales, no two ranges overlapping:
    ``free_range(preferred, count)`` finds ``count`` free ports (``preferred`` when
    free, else others). The first site's readers prefer ``llrp_start`` and its scales
    ``scale_offset`` above its readers; each next site's prefer the ports right after the
    site before. Nothing is bound yet, so a range is checked against those handed out."""
    taken: list[range] = []

    def claim(preferred: int, count: int) -> int:
        for _ in range(50):
            base = free_range(preferred, count)
            wanted = range(base, base + count)
            clash = [r for r in taken if r.start < wanted.stop and wanted.start < r.stop]
            if not clash:
                taken.append(wanted)
                return base
            preferred = max(r.stop for r in clash)
        raise DemoSiteError(f"no {count} free ports apart from the demo's other devices")

    out: dict[str, PortRanges] = {}
    next_llrp: int | None = None
    next_scale: int | None = None
    for s in sites:
        readers, scales = len(s.layout.readers), max(1, len(s.layout.scales))
        llrp = claim(llrp_start if next_llrp is None else next_llrp, readers)
        scale = claim(llrp + scale_offset if next_scale is None else next_scale, scales)
        out[s.id] = PortRanges(llrp, scale)
        next_llrp, next_scale = llrp + readers, scale + scales
    return out
