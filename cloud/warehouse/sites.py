"""The sites (warehouses) one cloud serves, each with its layout. Pure.

A cloud serves one site or several (``RFIDWMS_SITES``). :meth:`Sites.of` refuses a
configuration the cloud could not keep apart: no site, a site named twice, or two
sites whose layouts share an edge, reader, scale, zone or dock door id. Those ids
name one thing in the whole cloud. Edge ids must: an edge's topics
(``rfidwms/v1/<site>/<edge>/...``), its acknowledgements and its rows in ``edges``
and ``ingested_batches`` name it without the site. The event tables (passages, zone
events, weights) carry their site (migration 0034), but the tag places, tag
locations, readers and the stock ledger's locations still name a zone, door, reader
or read point without it, so those ids stay unique too.

Which site a request means (:meth:`Sites.choose`): the one it names, else the only
one served; with several served and none named the request is ambiguous. A list
filters by the site it names, or covers them all (:meth:`Sites.select`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from protocols.layout import Layout


class SiteError(ValueError):
    """A configuration of sites the cloud cannot serve, or a site a request cannot
    mean; the message names the site or id."""


class UnknownSite(SiteError):
    """A request names a site this cloud does not serve."""


class AmbiguousSite(SiteError):
    """A request that needs one site names none, and the cloud serves several."""


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def layout_edges(layout: Layout) -> frozenset[str]:
    """The edges of a layout: those serving its readers and scales."""
    return frozenset({r.edge for r in layout.readers} | {s.edge for s in layout.scales})


def _device_and_place_ids(layout: Layout) -> Iterator[tuple[str, str]]:
    """(what, id) of every id of ``layout`` that must be unique across sites."""
    for edge in sorted(layout_edges(layout)):
        yield "edge", edge
    for r in layout.readers:
        yield "reader", r.id
    for s in layout.scales:
        yield "scale", s.id
    for z in layout.zones:
        yield "zone", z.id
    for d in layout.doors:
        yield "door", d.id


@dataclass(frozen=True, slots=True)
class Sites:
    """The served sites in configuration order (the first is the default one)."""

    layouts: Mapping[str, Layout]
    _edge_site: Mapping[str, str]

    @classmethod
    def of(cls, sites: Iterable[tuple[str, Layout]]) -> Sites:
        """The sites, checked (:class:`SiteError` naming what is wrong)."""
        layouts: dict[str, Layout] = {}
        owner: dict[tuple[str, str], str] = {}
        for site, layout in sites:
            if site in layouts:
                raise SiteError(f"site {site!r} is named twice")
            for what, ident in _device_and_place_ids(layout):
                other = owner.setdefault((what, ident), site)
                if other != site:
                    raise SiteError(
                        f"{what} {ident!r} is in the layouts of both site {other!r} and site "
                        f"{site!r}: one cloud needs every edge, reader, scale, zone and door "
                        "id to name one thing (rename it in one layout)"
                    )
            layouts[site] = layout
        if not layouts:
            raise SiteError("no site to serve")
        edge_site = {ident: site for (what, ident), site in owner.items() if what == "edge"}
        return cls(layouts, edge_site)

    @classmethod
    def single(cls, site: str, layout: Layout) -> Sites:
        return cls.of([(site, layout)])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.layouts)

    @property
    def first(self) -> str:
        return next(iter(self.layouts))

    def __contains__(self, site: object) -> bool:
        return site in self.layouts

    def layout(self, site: str) -> Layout:
        """The layout of a served site (KeyError for another)."""
        return self.layouts[site]

    @property
    def doors(self) -> frozenset[str]:
        """The dock doors of every site (door ids are unique across sites)."""
        return frozenset(d.id for layout in self.layouts.values() for d in layout.doors)

    @property
    def zones(self) -> frozenset[str]:
        """The zones of every site (zone ids are unique across sites)."""
        return frozenset(z.id for layout in self.layouts.values() for z in layout.zones)

    @property
    def edge_sites(self) -> Mapping[str, str]:
        """Each edge of every site's layout -> its site."""
        return self._edge_site

    def site_of_edge(self, edge_id: str) -> str | None:
        """The site whose layout has ``edge_id``; None when none has."""
        return self._edge_site.get(edge_id)

    def check(self, site: str) -> str:
        """``site`` when served; :class:`UnknownSite` naming it and the served ones."""
        if site not in self.layouts:
            raise UnknownSite(
                f"site {site!r} is not served by this cloud (it serves {_quoted(self.ids)})"
            )
        return site

    def choose(self, requested: str | None) -> str:
        """The one site a request means: the one it names, else the only one served
        (:class:`AmbiguousSite` when several are and it names none)."""
        if requested is not None:
            return self.check(requested)
        if len(self.layouts) > 1:
            raise AmbiguousSite(
                f"site: this cloud serves several sites ({_quoted(self.ids)}); name one"
            )
        return self.first

    def select(self, requested: str | None) -> tuple[str, ...]:
        """The sites a list covers: the one named, or all served."""
        return (self.check(requested),) if requested is not None else self.ids
