// A site's floor plan (GET /api/sites/{site}/layout) drawn in SVG, in metres: the
// floor, its zones, the doors with the apron inside each, the readers with their
// antennas and the scales. The map draws it under its pallets; the orders page draws an
// order's pick route over it. Plain functions that build SVG elements: no state, no I/O.
// Styles: /common/floorplan.css, for an <svg class="floorplan">.

export const SVGNS = "http://www.w3.org/2000/svg";

/** An SVG element: svg("rect", {x: 1, class: "a"}, child, ...). */
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** The viewBox of a plan (metres): the warehouse with a margin of 6 % of its longer side. */
export function planView(plan) {
  const W = plan.warehouse.width_m;
  const D = plan.warehouse.depth_m;
  const m = Math.max(W, D) * 0.06;
  return { x: -m, y: -m, w: W + 2 * m, h: D + 2 * m };
}

export const viewBox = (v) => `${v.x} ${v.y} ${v.w} ${v.h}`;

/** The direction into the building from a door: the plan edge it is nearest. */
export function inward(door, warehouse) {
  const a = door.area;
  const gaps = [
    [a.y, { x: 0, y: 1 }],
    [warehouse.depth_m - (a.y + a.h), { x: 0, y: -1 }],
    [a.x, { x: 1, y: 0 }],
    [warehouse.width_m - (a.x + a.w), { x: -1, y: 0 }],
  ];
  gaps.sort((p, q) => p[0] - q[0]);
  return gaps[0][1];
}

/** The strip just inside a door where pallets that came through it stand. */
export function doorApron(door, warehouse, depth = 2.2) {
  const a = door.area;
  const n = inward(door, warehouse);
  if (n.y === 1) return { x: a.x, y: a.y + a.h, w: a.w, h: depth };
  if (n.y === -1) return { x: a.x, y: a.y - depth, w: a.w, h: depth };
  if (n.x === 1) return { x: a.x + a.w, y: a.y, w: depth, h: a.h };
  return { x: a.x - depth, y: a.y, w: depth, h: a.h };
}

/** The centre of every zone and door of the plan, by id: where the pick route's walk
 *  goes (as cloud/warehouse/pick_route.py place_points). */
export function placePoints(plan) {
  const points = new Map();
  for (const p of [...plan.zones, ...plan.doors]) points.set(p.id, { x: p.area.x + p.area.w / 2, y: p.area.y + p.area.h / 2 });
  return points;
}

/** The shapes of the plan, bottom to top. Each zone is a <g class="zone KIND"
 *  data-zone=ID> of its area and name; ``zoneAttrs(z)`` adds attributes to it and
 *  ``zoneParts(z)`` more shapes (the map's fill bar and count). */
export function planShapes(plan, { zoneAttrs = () => ({}), zoneParts = () => [] } = {}) {
  const W = plan.warehouse.width_m;
  const D = plan.warehouse.depth_m;
  const g = [svg("rect", { class: "floor", x: 0, y: 0, width: W, height: D })];
  for (const z of plan.zones) {
    const a = z.area;
    g.push(svg(
      "g",
      { class: `zone ${z.kind}`, "data-zone": z.id, ...zoneAttrs(z) },
      svg("rect", { class: "area", x: a.x, y: a.y, width: a.w, height: a.h }),
      svg("text", { class: "zname", x: a.x + 0.5, y: a.y + 1.5 }, z.name),
      ...zoneParts(z),
    ));
  }
  for (const d of plan.doors) {
    const a = d.area;
    const ap = doorApron(d, plan.warehouse);
    g.push(svg("rect", { class: "apron", x: ap.x, y: ap.y, width: ap.w, height: ap.h }));
    g.push(svg(
      "g",
      { class: "door", "data-testid": "door", "data-door": d.id },
      svg("rect", { x: a.x, y: a.y, width: a.w, height: a.h }),
      svg("text", { x: a.x + a.w / 2, y: a.y + a.h / 2 + 0.35, "text-anchor": "middle" }, d.name.replace(/^Dock door /, "Door ")),
    ));
  }
  g.push(...readerShapes(plan));
  return g;
}

/** Readers with their antennas: a door reader beside its door, its outside antennas
 *  beyond the door and inside ones within; a zone reader at its zone's corner, its
 *  antennas along the zone's top edge (one over a scale: at that scale). */
export function readerShapes(plan) {
  const out = [];
  const scalesAt = new Map(); // read point -> {x, y}
  const byZone = new Map();
  for (const s of plan.scales) {
    if (!byZone.has(s.zone)) byZone.set(s.zone, []);
    byZone.get(s.zone).push(s);
  }
  for (const [zid, list] of byZone) {
    const z = plan.zones.find((q) => q.id === zid).area;
    list.forEach((s, i) => {
      const w = Math.min(3, z.w / (list.length + 1));
      const x = z.x + z.w - (list.length - i) * (w + 0.6);
      const y = z.y + z.h - 3.2;
      out.push(svg("g", { class: "scale", "data-scale": s.id }, svg("rect", { x, y, width: w, height: 2.2 }), svg("text", { x: x + w / 2, y: y + 1.3, "text-anchor": "middle" }, s.id)));
      if (s.read_point) scalesAt.set(s.read_point, { x: x + w / 2, y: y + 1.1 });
    });
  }
  for (const r of plan.readers) {
    const title = svg("title", {}, `${r.id} (${r.edge}): ${r.antennas.map((a) => `${a.id}: ${a.read_point}`).join(", ")}`);
    const parts = [title];
    if (r.door) {
      const d = plan.doors.find((q) => q.id === r.door);
      const a = d.area;
      const n = inward(d, plan.warehouse);
      const cx = a.x + a.w / 2;
      const cy = a.y + a.h / 2;
      const tx = -n.y; // along the door
      const ty = n.x;
      const half = (n.y !== 0 ? a.h : a.w) / 2 + 0.7;
      const along = (n.y !== 0 ? a.w : a.h) / 2;
      parts.push(svg("rect", { x: cx + tx * (along + 0.9) - 0.5, y: cy + ty * (along + 0.9) - 0.5, width: 1, height: 1 }));
      const sides = { outside: [], inside: [] };
      for (const ant of r.antennas) sides[ant.read_point.endsWith("/outside") ? "outside" : "inside"].push(ant);
      for (const [side, ants] of Object.entries(sides)) {
        const sign = side === "outside" ? -1 : 1;
        ants.forEach((ant, i) => {
          const off = (i - (ants.length - 1) / 2) * 1.2;
          parts.push(svg("circle", { class: `antenna ${side}`, cx: cx + n.x * sign * half + tx * off, cy: cy + n.y * sign * half + ty * off, r: 0.32, "data-antenna": `${r.id}/${ant.id}` }));
        });
      }
    } else {
      const z = plan.zones.find((q) => q.id === r.zone).area;
      parts.push(svg("rect", { x: z.x + z.w - 1.4, y: z.y + 2.2, width: 1, height: 1 }));
      const free = r.antennas.filter((a) => !scalesAt.has(a.read_point));
      r.antennas.forEach((ant) => {
        const at = scalesAt.get(ant.read_point);
        const i = free.indexOf(ant);
        const x = at ? at.x : z.x + ((i + 1) * z.w) / (free.length + 1);
        const y = at ? at.y : z.y + 0.35;
        parts.push(svg("circle", { class: "antenna", cx: x, cy: y, r: 0.3, "data-antenna": `${r.id}/${ant.id}` }));
      });
    }
    out.push(svg("g", { class: "reader", "data-testid": "reader", "data-reader": r.id }, ...parts));
  }
  return out;
}

// -- a walk over the plan ------------------------------------------------------------------

/** The stops of a walk through ``places`` (ids, in order) at their ``points``: one stop
 *  per run of the same place, with the positions (1-based) of the walk it stands for;
 *  a place with no point is left out of the drawing and listed in ``unknown``. */
export function walkStops(places, points) {
  const stops = [];
  const unknown = [];
  places.forEach((id, i) => {
    const p = points.get(id);
    if (!p) { if (!unknown.includes(id)) unknown.push(id); return; }
    const last = stops[stops.length - 1];
    if (last && last.id === id) last.visits.push(i + 1);
    else stops.push({ id, x: p.x, y: p.y, visits: [i + 1] });
  });
  return { stops, unknown };
}

/** An SVG path ``d`` along the aisles from stop to stop: across, then along (a walk
 *  measured rectilinearly, as the pick route is). */
export function walkPath(stops) {
  if (!stops.length) return "";
  const [first, ...rest] = stops;
  let d = `M ${first.x} ${first.y}`;
  let at = first;
  for (const s of rest) {
    if (s.x !== at.x) d += ` H ${s.x}`;
    if (s.y !== at.y) d += ` V ${s.y}`;
    at = s;
  }
  return d;
}
