// The map's model, pure (no DOM, no fetch): where each pallet is, from the ledger and
// the edges' events, and where each was at a moment of the last hour (replay).
//
// A pallet's *place* has the shape of the feed's tag places (cloud/ingest/places.py):
//   {state, zone, last_zone, door, at}
// state: "present" (in zone), "departed" (left last_zone, not yet heard elsewhere),
// "unknown" (last_zone's readers are out), "received" (came in through door),
// "shipped" (left through door), or "booked" (only the ledger knows it: its cases are
// booked at zone, a zone or a door id; the events have said nothing newer).
// ``at`` is the time (ms) of the event that put it there; null for "booked".

/** An SSCC-96 EPC (hex, GS1 header 0x31): a pallet. Cases (0x30) follow their pallet. */
export const isPalletEpc = (epc) => typeof epc === "string" && epc.length === 24 && epc.startsWith("31");

const ms = (iso) => (iso === null || iso === undefined ? null : new Date(iso).getTime());

/** The place a ledger row of GET /api/pallets gives (booked at a zone, a door or
 *  in_transit). */
export function bookedPlace(zone) {
  return { state: "booked", zone, last_zone: zone, door: null, at: null };
}

/** A place of the feed (snapshot or delta ``places``). */
export function feedPlace(p) {
  return { state: p.state, zone: p.zone, last_zone: p.last_zone, door: p.door, at: ms(p.changed_at) };
}

/** Whether ``next`` replaces ``current``: news from the events beats the ledger's
 *  booking, and older news never replaces newer (as the cloud's apply_events). */
export function newer(current, next) {
  if (!current) return true;
  if (next.at === null) return current.at === null;
  if (current.at === null) return true;
  return next.at >= current.at;
}

/** The place after one event (a zone event or a passage of GET /api/zone-events,
 *  /api/passages or the feed), given the place before (or null). Mirrors
 *  cloud/ingest/places.py: a departed or unknown of a zone the pallet is known to
 *  have left for another is old news and changes nothing. */
export function afterEvent(before, ev) {
  const at = ms(ev.time);
  if (ev.direction !== undefined) { // a passage
    return { state: ev.direction === "inbound" ? "received" : "shipped", zone: null, last_zone: before ? before.last_zone : null, door: ev.door, at };
  }
  if (ev.kind === "departed" || ev.kind === "unknown") {
    if (before && before.state === "present" && before.zone !== ev.zone) return before;
    return { state: ev.kind, zone: null, last_zone: ev.zone, door: null, at };
  }
  return { state: "present", zone: ev.zone, last_zone: ev.zone, door: null, at };
}

/** The place a pallet must have had just before ``ev``, its first event of the
 *  replayed hour: where the event says it came from. An arrival (or a passage in)
 *  came from outside what the readers saw: null, not on the floor. A passage out
 *  came from ``hint`` (the zone or door it was last known in, as now known, or
 *  booked at by the ledger) when there is one, else from inside its door. */
export function beforeEvent(ev, hint = null) {
  const at = null;
  if (ev.direction !== undefined) {
    if (ev.direction === "inbound") return null;
    return hint ? bookedPlace(hint) : { state: "received", zone: null, last_zone: null, door: ev.door, at };
  }
  switch (ev.kind) {
    case "moved":
      return ev.from_zone ? { state: "present", zone: ev.from_zone, last_zone: ev.from_zone, door: null, at } : null;
    case "departed":
    case "unknown":
      return { state: "present", zone: ev.zone, last_zone: ev.zone, door: null, at };
    case "present": // heard again after its zone's readers were out
      return { state: "unknown", zone: null, last_zone: ev.zone, door: null, at };
    default: // arrived
      return null;
  }
}

/**
 * A replay of a period: the pallets' events (zone events and passages of pallets,
 * any order), their places at the end of it (``current``: Map epc -> place) and
 * where the ledger booked them (``booked``: Map epc -> zone or door id, optional).
 * ``at(t)`` gives the Map epc -> place (or null: not on the floor) at time t (ms):
 * a pallet with no event in the period was where it is now; one with events was
 * where its last event up to t put it, or, before its first, where that event says it
 * came from.
 */
export class Replay {
  constructor(events, current, booked = new Map()) {
    this.events = events
      .filter((e) => isPalletEpc(e.epc))
      .map((e) => ({ ...e, t: ms(e.time) }))
      .sort((a, b) => a.t - b.t);
    this.current = current;
    this.booked = booked;
    this.first = new Map(); // epc -> its first event
    for (const e of this.events) if (!this.first.has(e.epc)) this.first.set(e.epc, e);
  }

  at(t) {
    const places = new Map();
    for (const [epc, place] of this.current) if (!this.first.has(epc)) places.set(epc, place);
    for (const [epc, ev] of this.first) places.set(epc, beforeEvent(ev, this.hint(epc)));
    for (const ev of this.events) {
      if (ev.t > t) break;
      places.set(ev.epc, afterEvent(places.get(ev.epc), ev));
    }
    return places;
  }

  /** Where a pallet was last known to be before its events: the last zone its
   *  place now names, else where the ledger booked it. */
  hint(epc) {
    const now = this.current.get(epc);
    return (now && now.last_zone) || this.booked.get(epc) || null;
  }

  /** The passages with time in (t - window, t]. */
  passagesIn(t, window) {
    return this.events.filter((e) => e.direction !== undefined && e.t > t - window && e.t <= t);
  }
}

/** Where a place is drawn: {kind: "zone"|"door", id, style} or null (not on the
 *  floor: shipped, in transit, never seen). ``zones`` and ``doors``: Sets of ids. */
export function spotOf(place, zones, doors) {
  if (!place) return null;
  switch (place.state) {
    case "present":
      return zones.has(place.zone) ? { kind: "zone", id: place.zone, style: "present" } : null;
    case "departed":
    case "unknown":
      return zones.has(place.last_zone) ? { kind: "zone", id: place.last_zone, style: place.state } : null;
    case "received":
      return doors.has(place.door) ? { kind: "door", id: place.door, style: "present" } : null;
    case "booked":
      if (zones.has(place.zone)) return { kind: "zone", id: place.zone, style: "booked" };
      if (doors.has(place.zone)) return { kind: "door", id: place.zone, style: "booked" };
      return null;
    default: // shipped
      return null;
  }
}

/**
 * Stable slots in an area: a pallet keeps its slot while it stays; a new one takes
 * the lowest free. The grid is sized for ``capacity`` slots (at least the pallets
 * held, grown by half when full), so arrivals do not shuffle the others.
 */
export class Slots {
  constructor(rect, minCapacity = 16) {
    this.rect = rect;
    this.of = new Map(); // epc -> slot
    this.free = [];
    this.next = 0;
    this.capacity = minCapacity;
    this.grid = grid(rect, this.capacity);
    this.version = 0; // rises when the grid is sized anew: every slot's position changes
  }

  /** Size the grid for ``n`` pallets at once (before taking their slots). */
  reserve(n) {
    if (n <= this.capacity) return;
    this.capacity = Math.ceil(n * 1.25);
    this.grid = grid(this.rect, this.capacity);
    this.version += 1;
  }

  take(epc) {
    let s = this.of.get(epc);
    if (s !== undefined) return s;
    s = this.free.length ? this.free.pop() : this.next++;
    this.of.set(epc, s);
    if (this.next > this.capacity) this.reserve(Math.ceil(this.next * 1.2));
    return s;
  }

  release(epc) {
    const s = this.of.get(epc);
    if (s === undefined) return;
    this.of.delete(epc);
    this.free.push(s);
    this.free.sort((a, b) => b - a); // lowest last: popped first
  }

  /** The centre {x, y} (metres) and size of slot ``s``. */
  position(s) {
    const g = this.grid;
    const col = s % g.cols;
    const row = Math.floor(s / g.cols);
    return { x: g.x0 + (col + 0.5) * g.cell, y: g.y0 + (row + 0.5) * g.cell, size: g.cell * 0.78 };
  }
}

/** A square grid of at least ``n`` cells inside ``rect`` (with a margin), centred. */
export function grid(rect, n) {
  const pad = Math.min(rect.w, rect.h) * 0.06;
  const w = Math.max(rect.w - 2 * pad, 0.1);
  const h = Math.max(rect.h - 2 * pad, 0.1);
  let cell = Math.sqrt((w * h) / Math.max(n, 1));
  let cols = Math.max(1, Math.floor(w / cell));
  let rows = Math.max(1, Math.floor(h / cell));
  while (cols * rows < n) { // shrink until they fit
    cell *= 0.95;
    cols = Math.max(1, Math.floor(w / cell));
    rows = Math.max(1, Math.floor(h / cell));
  }
  return { cell, cols, rows, x0: rect.x + pad + (w - cols * cell) / 2, y0: rect.y + pad + (h - rows * cell) / 2 };
}

// Where a door's pallets stand: the shared floor plan's (the map draws with it).
export { doorApron, inward } from "/common/floorplan.js";

/** The orders a pallet's ledger history names (reservations, picks), newest last. */
export function ordersOf(history) {
  const seen = [];
  for (const e of history) if (e.cause && e.cause.kind === "order" && !seen.includes(e.cause.id)) seen.push(e.cause.id);
  return seen;
}
