// The table of cases of dashboards/map/model.js, evaluated in chromium by
// tests/cloud/test_map_page.py (P1, P2 and CASE are put in by the test).
async () => {
  const M = await import('/map/model.js');
  const t = (s) => new Date(`2025-03-01T08:${s}+00:00`).toISOString();
  const ev = (kind, epc, zone, s, extra = {}) => ({ kind, epc, zone, time: t(s), ...extra });
  const pass = (direction, epc, door, s) => ({ direction, epc, door, time: t(s), cases: [] });
  const out = {};
  out.isPallet = [M.isPalletEpc(P1), M.isPalletEpc(CASE), M.isPalletEpc('31AB')];
  // after an event: as cloud/ingest/places.py
  const present = M.afterEvent(null, ev('arrived', P1, 'zone-a', '00:00'));
  out.arrived = [present.state, present.zone];
  const gone = M.afterEvent(present, ev('departed', P1, 'zone-b', '00:10'));
  out.oldNews = gone === present; // departed from a zone it is not in
  const left = M.afterEvent(present, ev('departed', P1, 'zone-a', '00:10'));
  out.departed = [left.state, left.zone, left.last_zone];
  const shipped = M.afterEvent(present, pass('outbound', P1, 'door-2', '00:20'));
  out.shipped = [shipped.state, shipped.door, shipped.last_zone];
  // before the first event of the hour
  out.before = [
    M.beforeEvent(ev('moved', P1, 'zone-b', '00:00', { from_zone: 'zone-a' })).zone,
    M.beforeEvent(ev('arrived', P1, 'zone-b', '00:00')),
    M.beforeEvent(ev('departed', P1, 'zone-b', '00:00')).zone,
    M.beforeEvent(ev('present', P1, 'zone-b', '00:00')).state,
    M.beforeEvent(pass('inbound', P1, 'door-1', '00:00')),
    M.beforeEvent(pass('outbound', P1, 'door-1', '00:00')).door,
    M.beforeEvent(pass('outbound', P1, 'door-1', '00:00'), 'zone-b').zone,
  ];
  // the replay: P1 moves a -> c at 00:10 then ships through door-2 at 00:20;
  // P2 has no event (stays where it is now); a case's events are left out
  const now = new Map([[P1, { state: 'shipped', zone: null, last_zone: 'zone-c', door: 'door-2', at: 1 }],
                       [P2, M.bookedPlace('zone-b')]]);
  const r = new M.Replay([
    pass('outbound', P1, 'door-2', '00:20'),
    ev('moved', P1, 'zone-c', '00:10', { from_zone: 'zone-a' }),
    ev('arrived', CASE, 'zone-c', '00:05'),
  ], now);
  const at = (s) => { const m = r.at(new Date(t(s)).getTime()); return [m.get(P1) && (m.get(P1).zone || m.get(P1).door), m.get(P2).zone]; };
  out.replay = [at('00:00'), at('00:10'), at('00:19'), at('00:20')];
  out.replayEvents = r.events.length;
  const shippedOnly = new M.Replay([pass('outbound', P2, 'door-3', '00:30')],
    new Map([[P2, { state: 'shipped', zone: null, last_zone: null, door: 'door-3', at: 1 }]]), new Map([[P2, 'zone-b']]));
  out.hinted = shippedOnly.at(new Date(t('00:29')).getTime()).get(P2).zone;
  out.passagesIn = r.passagesIn(new Date(t('00:21')).getTime(), 5000).length;
  // newer: events beat the ledger, older never replaces newer
  const booked = M.bookedPlace('zone-a');
  out.newer = [M.newer(null, booked), M.newer(booked, present), M.newer(present, booked),
               M.newer(left, present), M.newer(present, left)];
  // spots
  const zones = new Set(['zone-a']); const doors = new Set(['door-1']);
  out.spots = [M.spotOf(present, zones, doors), M.spotOf(shipped, zones, doors),
               M.spotOf(M.bookedPlace('door-1'), zones, doors), M.spotOf(M.bookedPlace('in_transit'), zones, doors)];
  // slots: stable, lowest free first, inside the area, grown when full
  const s = new M.Slots({ x: 10, y: 10, w: 20, h: 10 }, 4);
  const taken = ['a', 'b', 'c'].map((k) => s.take(k));
  s.release('b');
  const again = [s.take('d'), s.take('a'), s.take('e'), s.take('f')];
  const inside = ['a', 'c', 'd', 'e', 'f'].every((k) => { const p = s.position(s.of.get(k));
    return p.x > 10 && p.x < 30 && p.y > 10 && p.y < 20; });
  out.slots = [taken, again, inside, s.capacity >= 5];
  out.inward = [M.inward({ area: { x: 6, y: 0, w: 8, h: 2 } }, { width_m: 80, depth_m: 50 }),
                M.inward({ area: { x: 78, y: 20, w: 2, h: 8 } }, { width_m: 80, depth_m: 50 })];
  out.orders = M.ordersOf([{ cause: { kind: 'asn', id: 'A1' } }, { cause: { kind: 'order', id: 'O-1' } },
                           { cause: { kind: 'order', id: 'O-1' } }, { cause: { kind: 'order', id: 'O-2' } }]);
  return out;
}
