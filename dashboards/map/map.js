// Live warehouse map: the site's floor plan (GET /api/sites/{site}/layout: zones,
// doors, readers and their antennas, scales) in SVG; its pallets on a canvas over it,
// where the ledger books them (GET /api/pallets) until the edges' events say more
// (the live feed's tag places: zone events and door passages); a door lights up on a
// passage with an arrow for its direction and the pallet's details. Click a pallet
// (or choose a zone with the keyboard and then a pallet) for its item, lot, expiry,
// orders, movements and ledger history. "Replay last hour" rebuilds where the pallets
// were from GET /api/zone-events and /api/passages of the hour at the site shown
// (site=; model.js, Replay) and moves them with a time slider. A site switcher lists
// GET /api/sites.

import { $, api, ApiError, clock, el, num, query, shell, when } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";
import * as F from "/common/floorplan.js";
import * as M from "/map/model.js";

const svg = F.svg;
const SITE_KEY = "rfidwms.map.site";
const FLASH_MS = 4000; // how long a door stays lit after a passage
const TWEEN_MS = 700; // how long a pallet takes to move on the map
const MAX_PASSAGES = 60; // in the side list
const HOUR_MS = 3600 * 1000;
const PALLET_RELOAD_MS = 15000; // at most this often, the ledger's pallets again
const COLORS = {
  available: "#3fb97a",
  reserved: "#4fa3ff",
  quarantine: "#e5a93b",
  damaged: "#e25c5c",
  in_transit: "#9aa7b6",
  none: "#c6d2df", // not in the ledger (yet)
};
const UNKNOWN_COLOR = "#6b7787";
const UP_STATES = new Set(["inventorying", "connected"]);

// -- state ------------------------------------------------------------------------------

let site = null; // the site shown
let plan = null; // its layout
let zoneIds = new Set();
let doorIds = new Set();
const areas = new Map(); // zone or door id -> Slots
const pallets = new Map(); // key (EPC, or "sscc:<sscc>") -> record
const bySscc = new Map(); // sscc -> key
const drawn = new Map(); // key -> {area, slot, x, y, size, fx, fy, t0, style}
const itemNames = new Map(); // sku -> name (or null while asked)
let passages = []; // newest first: {time, door, direction, epc, cases, shownAt}
let replay = null; // {model, start, end, playing, speed, applied}
let selected = null; // key of the selected pallet
let selectedZone = null;
let lastPalletLoad = 0;
let palletReloadTimer = null;
const stats = { frames: 0, drawMs: 0, passages: 0 }; // frames drawn, their time, passages heard
window.rfidwmsMap = { stats, pallets, drawn }; // for the bench and the tests

const feed = new LiveFeed({
  snapshot(msg) {
    applyReaders(msg.readers);
    applyPlaces(msg.places, false);
    passages = [];
    for (const p of msg.passages.slice(0, MAX_PASSAGES)) passages.push({ ...p, shownAt: 0 });
    renderPassages();
  },
  delta(msg) {
    if (msg.readers.length) applyReaders(msg.readers);
    if (msg.places.length) applyPlaces(msg.places, true);
    stats.passages += msg.passage_count;
    if (msg.passages.length) {
      const now = performance.now();
      for (const p of [...msg.passages].reverse()) passages.unshift({ ...p, shownAt: now });
      passages.length = Math.min(passages.length, MAX_PASSAGES);
      renderPassages();
      reloadPalletsSoon(); // a received pallet: its item and lot, once the feed booked it
      wake();
    }
  },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Map",
  current: "/map",
  what: "the map",
  start() { begin(); },
  stop() {
    feed.stop();
    stopReplay();
    pallets.clear();
    bySscc.clear();
    drawn.clear();
    for (const s of areas.values()) s.of.clear();
    passages = [];
    renderPassages();
    wake();
  },
});

function showError(text) {
  $("map-error").textContent = text;
  $("map-error").hidden = !text;
}

function failed(e) {
  if (e instanceof ApiError) {
    if (e.status !== 401 && e.status !== 403) showError(e.detail);
  } else {
    console.warn("map:", e);
    showError(`The API did not answer (${e.message}).`);
  }
}

// -- loading ------------------------------------------------------------------------------

async function begin() {
  showError("");
  try {
    const sites = (await api("/api/sites")).items;
    const select = $("site-select");
    select.replaceChildren(...sites.map((s) => el("option", { value: s.id }, `${s.name} (${s.id})`)));
    const wanted = localStorage.getItem(SITE_KEY);
    site = sites.some((s) => s.id === wanted) ? wanted : sites[0].id;
    select.value = site;
    await loadSite();
    feed.start();
  } catch (e) {
    failed(e);
  }
}

async function loadSite() {
  stopReplay();
  pallets.clear();
  bySscc.clear();
  drawn.clear();
  plan = await api(`/api/sites/${encodeURIComponent(site)}/layout`);
  zoneIds = new Set(plan.zones.map((z) => z.id));
  doorIds = new Set(plan.doors.map((d) => d.id));
  areas.clear();
  for (const z of plan.zones) { // below the zone's name, above its fill bar
    const a = z.area;
    areas.set(z.id, new M.Slots(a.h > 6 ? { x: a.x, y: a.y + 2, w: a.w, h: a.h - 2.6 } : a, 16));
  }
  for (const d of plan.doors) areas.set(d.id, new M.Slots(F.doorApron(d, plan.warehouse), 6));
  drawPlan();
  resize();
  await loadPallets();
}

/** Every pallet holding stock at the site (the ledger's), merged into what is known. */
async function loadPallets() {
  lastPalletLoad = Date.now();
  const rows = [];
  let cursor = null;
  do {
    const page = await api(`/api/pallets${query({ site, limit: 1000, cursor })}`);
    rows.push(...page.items);
    cursor = page.next;
  } while (cursor && rows.length < 50000);
  const per = new Map();
  for (const p of rows) per.set(p.zone, (per.get(p.zone) || 0) + 1);
  for (const [id, n] of per) if (areas.has(id)) areas.get(id).reserve(n);
  for (const p of rows) {
    const key = p.epc || bySscc.get(p.sscc) || `sscc:${p.sscc}`;
    const r = record(key, p.epc);
    Object.assign(r, { sscc: p.sscc, sku: p.sku, lot: p.lot, expiry: p.expiry, stock: p.state, cases: p.cases, booked: p.zone });
    bySscc.set(p.sscc, key);
    setPlace(r, M.bookedPlace(p.zone), false);
  }
  countsDirty = true;
  wake();
}

function reloadPalletsSoon() {
  if (palletReloadTimer) return;
  const wait = Math.max(3000, PALLET_RELOAD_MS - (Date.now() - lastPalletLoad));
  palletReloadTimer = setTimeout(async () => {
    palletReloadTimer = null;
    try { await loadPallets(); } catch (e) { failed(e); }
  }, wait);
}

function record(key, epc = null) {
  let r = pallets.get(key);
  if (!r) {
    r = { key, epc, sscc: null, sku: null, lot: null, expiry: null, stock: null, cases: null, booked: null, place: null };
    pallets.set(key, r);
  }
  return r;
}

// -- where the pallets are ----------------------------------------------------------------------

function applyPlaces(places, animate) {
  for (const p of places) {
    if (!M.isPalletEpc(p.epc)) continue; // cases follow their pallet
    setPlace(record(p.epc, p.epc), M.feedPlace(p), animate);
  }
  countsDirty = true;
  wake();
}

/** A pallet's live place; shown at once unless a replay is on. */
function setPlace(r, place, animate) {
  if (!M.newer(r.place, place)) return;
  r.place = place;
  if (!replay) show(r.key, place, animate);
}

/** Put a pallet where ``place`` says on the map (or take it off). */
function show(key, place, animate) {
  const spot = M.spotOf(place, zoneIds, doorIds);
  const d = drawn.get(key);
  if (!spot) {
    if (d) {
      areas.get(d.area).release(key);
      drawn.delete(key);
    }
    return;
  }
  const slots = areas.get(spot.id);
  if (d && d.area !== spot.id) areas.get(d.area).release(key);
  const slot = slots.take(key);
  const pos = slots.position(slot);
  const now = performance.now();
  if (d) {
    const cur = current(d, now);
    Object.assign(d, { area: spot.id, slot, style: spot.style, fx: cur.x, fy: cur.y, x: pos.x, y: pos.y, size: pos.size, t0: animate ? now : -TWEEN_MS, version: slots.version });
  } else {
    drawn.set(key, { area: spot.id, slot, style: spot.style, fx: pos.x, fy: pos.y, x: pos.x, y: pos.y, size: pos.size, t0: -TWEEN_MS, version: slots.version });
  }
  relayoutDue = true;
}

/** Move the pallets of every area whose grid was sized anew to their slots' new places. */
function relayout() {
  const now = performance.now();
  for (const d of drawn.values()) {
    const slots = areas.get(d.area);
    if (d.version === slots.version) continue;
    const pos = slots.position(d.slot);
    const cur = current(d, now);
    Object.assign(d, { fx: cur.x, fy: cur.y, x: pos.x, y: pos.y, size: pos.size, t0: now, version: slots.version });
  }
}

/** Show every pallet as ``places`` (Map key -> place or null) says. */
function showAll(places, animate) {
  const per = new Map();
  for (const place of places.values()) {
    const spot = M.spotOf(place, zoneIds, doorIds);
    if (spot) per.set(spot.id, (per.get(spot.id) || 0) + 1);
  }
  for (const [id, n] of per) areas.get(id).reserve(n);
  for (const key of [...drawn.keys()]) if (!places.has(key)) show(key, null, false);
  for (const [key, place] of places) show(key, place, animate);
  countsDirty = true;
  wake();
}

function livePlaces() {
  const m = new Map();
  for (const [key, r] of pallets) if (r.place) m.set(key, r.place);
  return m;
}

function current(d, now) {
  const k = Math.min(1, (now - d.t0) / TWEEN_MS);
  if (k >= 1) return { x: d.x, y: d.y, moving: false };
  const e = k * (2 - k); // ease out
  return { x: d.fx + (d.x - d.fx) * e, y: d.fy + (d.y - d.fy) * e, moving: true };
}

// -- the floor plan (SVG) ----------------------------------------------------------------------

let view = { x: 0, y: 0, w: 1, h: 1 }; // the viewBox, metres

function drawPlan() {
  view = F.planView(plan);
  $("plan").setAttribute("viewBox", F.viewBox(view));
  $("overlay").setAttribute("viewBox", F.viewBox(view));
  const shapes = F.planShapes(plan, {
    zoneAttrs: (z) => ({ tabindex: "0", role: "button", "data-testid": "zone", "aria-label": z.name }),
    zoneParts: (z) => {
      const a = z.area;
      return [
        svg("rect", { class: "fillbar-bg", x: a.x, y: a.y + a.h - 0.5, width: a.w, height: 0.5 }),
        svg("rect", { class: "fillbar", x: a.x, y: a.y + a.h - 0.5, width: 0, height: 0.5, "data-fill": z.id }),
        svg("text", { class: "zcount", x: a.x + a.w - 0.5, y: a.y + 1.5, "text-anchor": "end", "data-testid": "zone-count", "data-zone": z.id }, "0"),
      ];
    },
  });
  $("plan").replaceChildren(...shapes);
  for (const zone of $("plan").querySelectorAll(".zone")) {
    const id = zone.dataset.zone;
    zone.addEventListener("click", () => chooseZone(id));
    zone.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); chooseZone(id); }
    });
  }
  $("overlay").replaceChildren();
  flashKey = "";
  countsDirty = true;
}

function applyReaders(readers) {
  for (const r of readers) {
    const g = document.querySelector(`#plan .reader[data-reader="${CSS.escape(r.reader_id)}"]`);
    if (!g) continue;
    g.classList.toggle("up", UP_STATES.has(r.state));
    g.classList.toggle("down", !UP_STATES.has(r.state));
    g.dataset.state = r.state;
  }
}

// -- zone counts and fill -------------------------------------------------------------------

let countsDirty = true;
let relayoutDue = false;

function renderCounts() {
  countsDirty = false;
  const counts = new Map([...zoneIds].map((z) => [z, 0]));
  for (const d of drawn.values()) if (counts.has(d.area) && d.style !== "departed") counts.set(d.area, counts.get(d.area) + 1);
  const most = Math.max(1, ...counts.values());
  for (const z of plan.zones) {
    const n = counts.get(z.id);
    const text = document.querySelector(`#plan [data-testid="zone-count"][data-zone="${CSS.escape(z.id)}"]`);
    if (text.textContent !== String(n)) text.textContent = num(n);
    const density = n / ((z.area.w * z.area.h) / 100);
    document.querySelector(`#plan [data-fill="${CSS.escape(z.id)}"]`).setAttribute("width", (z.area.w * n) / most);
    document.querySelector(`#plan .zone[data-zone="${CSS.escape(z.id)}"]`)
      .setAttribute("aria-label", `${z.name}: ${n} pallets (${density.toFixed(1)} per 100 m²)`);
  }
  $("pallet-count").textContent = num(drawn.size);
  if (selectedZone) listZone(selectedZone, false);
}

// -- drawing: the canvas of pallets and the door flashes ---------------------------------------

let scale = 1;
let ox = 0;
let oy = 0;
let dpr = 1;
let pending = false;

function resize() {
  const stage = $("stage");
  const canvas = $("pallets");
  const w = stage.clientWidth;
  const h = stage.clientHeight;
  dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(h * dpr));
  scale = Math.min(w / view.w, h / view.h); // as preserveAspectRatio="xMidYMid meet"
  ox = (w - view.w * scale) / 2 - view.x * scale;
  oy = (h - view.h * scale) / 2 - view.y * scale;
  wake();
}

/** Draw on the next frame (and keep drawing while anything moves or a door is lit). */
function wake() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(frame);
}

function frame(now) {
  pending = false;
  const started = performance.now();
  if (relayoutDue) { relayoutDue = false; relayout(); }
  const moving = drawPallets(now);
  const lit = renderFlashes(now);
  if (countsDirty && plan) renderCounts();
  stats.frames += 1;
  stats.drawMs += performance.now() - started;
  if (moving || lit || (replay && replay.playing)) {
    if (replay && replay.playing) stepReplay(now);
    wake();
  }
}

function colorOf(key, style) {
  if (style === "unknown") return UNKNOWN_COLOR;
  const r = pallets.get(key);
  return COLORS[(r && r.stock) || "none"] || COLORS.none;
}

function drawPallets(now) {
  const canvas = $("pallets");
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!plan) return false;
  ctx.setTransform(dpr * scale, 0, 0, dpr * scale, dpr * ox, dpr * oy);
  const filled = new Map(); // color -> [x, y, size, ...]
  const hollow = [];
  let moving = false;
  let sel = null;
  for (const [key, d] of drawn) {
    const c = current(d, now);
    moving ||= c.moving;
    if (key === selected) sel = { ...c, size: d.size };
    if (d.style === "departed") { hollow.push(c.x, c.y, d.size); continue; }
    const color = colorOf(key, d.style);
    let list = filled.get(color);
    if (!list) filled.set(color, (list = []));
    list.push(c.x, c.y, d.size);
  }
  for (const [color, list] of filled) {
    ctx.fillStyle = color;
    ctx.beginPath();
    for (let i = 0; i < list.length; i += 3) ctx.rect(list[i] - list[i + 2] / 2, list[i + 1] - list[i + 2] / 2, list[i + 2], list[i + 2]);
    ctx.fill();
  }
  if (hollow.length) {
    ctx.strokeStyle = COLORS.none;
    ctx.lineWidth = 0.12;
    ctx.beginPath();
    for (let i = 0; i < hollow.length; i += 3) ctx.rect(hollow[i] - hollow[i + 2] / 2, hollow[i + 1] - hollow[i + 2] / 2, hollow[i + 2], hollow[i + 2]);
    ctx.stroke();
  }
  if (sel) {
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 0.25;
    ctx.beginPath();
    ctx.arc(sel.x, sel.y, Math.max(sel.size, 0.6), 0, 2 * Math.PI);
    ctx.stroke();
  }
  return moving;
}

let flashKey = "";

/** The doors lit now: passages shown within FLASH_MS (live), or the replay's passages
 *  of the moment. True while any door is lit. */
function renderFlashes(now) {
  if (!plan) return false;
  let active;
  if (replay) {
    const t = replayTime();
    active = replay.model.passagesIn(t, Math.max(30000, (FLASH_MS * replay.speed))).slice(-plan.doors.length * 2);
  } else {
    active = passages.filter((p) => p.shownAt && now - p.shownAt < FLASH_MS);
  }
  const latest = new Map(); // door -> its newest passage
  for (const p of active) {
    const had = latest.get(p.door);
    if (!had || p.time >= had.time) latest.set(p.door, p);
  }
  const key = [...latest.values()].map((p) => `${p.door}|${p.epc}|${p.time}`).sort().join(",");
  if (key !== flashKey) {
    flashKey = key;
    const shapes = [];
    for (const p of latest.values()) {
      const d = plan.doors.find((q) => q.id === p.door);
      if (d) shapes.push(flashShape(d, p));
    }
    $("overlay").replaceChildren(...shapes);
    for (const g of document.querySelectorAll("#plan .door")) g.classList.toggle("lit", latest.has(g.dataset.door));
  }
  return latest.size > 0;
}

function palletLabel(epc) {
  const r = pallets.get(epc);
  if (!r) return epc;
  const parts = [r.sscc || epc];
  if (r.sku) parts.push(itemNames.get(r.sku) || r.sku);
  if (r.lot) parts.push(`lot ${r.lot}`);
  return parts.join(" · ");
}

function flashShape(d, p) {
  const a = d.area;
  const n = F.inward(d, plan.warehouse);
  const dir = p.direction === "inbound" ? 1 : -1; // into the building, or out
  const cx = a.x + a.w / 2;
  const cy = a.y + a.h / 2;
  const len = 3.2;
  const sx = cx - n.x * dir * len / 2;
  const sy = cy - n.y * dir * len / 2;
  const ex = cx + n.x * dir * len / 2;
  const ey = cy + n.y * dir * len / 2;
  const px = -n.y * 0.7; // half width of the shaft, across
  const py = n.x * 0.7;
  const hx = ex - n.x * dir * 1.3; // where the head begins
  const hy = ey - n.y * dir * 1.3;
  const arrow = `M${sx + px * 0.5},${sy + py * 0.5} L${hx + px * 0.5},${hy + py * 0.5} L${hx + px * 1.5},${hy + py * 1.5} L${ex},${ey} L${hx - px * 1.5},${hy - py * 1.5} L${hx - px * 0.5},${hy - py * 0.5} L${sx - px * 0.5},${sy - py * 0.5} Z`;
  const lx = cx - n.x * 2.6; // beyond the arrow's tail, outside
  const ly = cy - n.y * 2.6;
  const r = pallets.get(p.epc);
  const about = [r && r.sku ? itemNames.get(r.sku) || r.sku : null, r && r.lot ? `lot ${r.lot}` : null,
    p.cases && p.cases.length ? `${p.cases.length} cases` : r && r.cases ? `${r.cases} cases` : null].filter(Boolean).join(" · ");
  return svg(
    "g",
    { class: `flash ${p.direction}`, "data-testid": "door-flash", "data-door": d.id, "data-direction": p.direction, "data-epc": p.epc },
    svg("rect", { x: a.x, y: a.y, width: a.w, height: a.h }),
    svg("path", { d: arrow }),
    svg("text", { x: lx, y: ly - (about ? 1.1 : 0), "text-anchor": "middle" }, `${p.direction === "inbound" ? "↓ in" : "↑ out"} ${(r && r.sscc) || p.epc}`),
    about ? svg("text", { x: lx, y: ly, "text-anchor": "middle" }, about) : null,
  );
}

// -- the passages list ------------------------------------------------------------------------

function renderPassages() {
  const list = $("passage-list");
  list.replaceChildren(...passages.map((p) => {
    const open = el("button", { type: "button", className: "link", onclick: () => selectPallet(p.epc) }, palletLabel(p.epc));
    return el(
      "li",
      { dataset: { testid: "passage", door: p.door, direction: p.direction, epc: p.epc }, className: p.shownAt ? "fresh" : "" },
      el("span", { className: "t" }, clock(p.time)),
      el("span", { className: `dir ${p.direction}` }, p.direction === "inbound" ? "↓ in " : "↑ out "),
      `${p.door} `,
      open,
    );
  }));
  if (!passages.length) list.append(el("li", { className: "empty" }, "No passages yet."));
}

// -- selection and details -----------------------------------------------------------------------

function showDetail(title, ...children) {
  $("detail-title").textContent = title;
  $("detail-body").replaceChildren(...children);
}

function chooseZone(id) {
  selectedZone = id;
  for (const g of document.querySelectorAll("#plan .zone")) g.classList.toggle("selected", g.dataset.zone === id);
  listZone(id, true);
}

function listZone(id, fresh) {
  const z = plan.zones.find((q) => q.id === id);
  if (!z) return;
  const keys = [...drawn].filter(([, d]) => d.area === id).map(([k]) => k).sort();
  if (!fresh && $("detail-body").dataset.zone !== id) return;
  const shown = keys.slice(0, 500);
  const list = el("ul", { className: "zonelist", dataset: { testid: "zone-pallets" } }, ...shown.map((k) => {
    const r = pallets.get(k);
    return el("li", {}, el("button", { type: "button", dataset: { key: k }, onclick: () => selectPallet(k) }, `${r.sscc || r.epc}${r.sku ? ` · ${r.sku}` : ""}`));
  }));
  showDetail(
    `${z.name}`,
    el("p", { className: "empty" }, `${num(keys.length)} pallets${keys.length > shown.length ? ` (first ${shown.length} listed)` : ""}; Enter opens one.`),
    list,
  );
  $("detail-body").dataset.zone = id;
}

function facts(pairs) {
  const dl = el("dl", { className: "facts" });
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v ?? "–"));
  return dl;
}

async function itemName(sku) {
  if (!sku) return null;
  if (!itemNames.has(sku)) {
    itemNames.set(sku, null);
    try { itemNames.set(sku, (await api(`/api/items/${encodeURIComponent(sku)}`)).name); } catch (e) { /* unnamed */ }
  }
  return itemNames.get(sku);
}

function expiryText(expiry) {
  if (!expiry) return "–";
  const days = Math.round((new Date(`${expiry}T00:00:00`) - new Date(new Date().toDateString())) / 86400000);
  const cls = days < 0 ? "expired" : days <= 30 ? "soon" : "ok";
  return el("span", { className: `exp ${cls}` }, `${expiry} (${days < 0 ? `expired ${-days} d ago` : `in ${days} d`})`);
}

async function selectPallet(key) {
  selected = key;
  wake();
  const r = pallets.get(key);
  const id = r ? (r.epc || r.sscc) : key;
  $("detail-body").dataset.zone = "";
  showDetail("Pallet", el("p", { className: "empty" }, "Loading…"));
  let p = null;
  let missing = null;
  try {
    p = await api(`/api/pallets/${encodeURIComponent(id)}${query({ site })}`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 401 || e.status === 403) return failed(e);
    missing = e.detail;
  }
  const epc = (p && p.epc) || (r && r.epc);
  let moves = [];
  if (epc) {
    try {
      const [zs, ps] = await Promise.all([
        api(`/api/zone-events${query({ epc, limit: 200 })}`),
        api(`/api/passages${query({ epc, limit: 200 })}`),
      ]);
      moves = [...zs.items.map((z) => ({ time: z.time, what: `${z.kind} ${z.zone}${z.from_zone ? ` from ${z.from_zone}` : ""}` })),
        ...ps.items.map((q) => ({ time: q.time, what: `${q.direction} through ${q.door}` }))]
        .sort((a, b) => (a.time < b.time ? -1 : 1));
    } catch (e) {
      console.warn("map: movements unavailable", e);
    }
  }
  if (selected !== key) return;
  const name = p ? await itemName(p.sku) : null;
  const place = r && r.place;
  const where = place ? (place.state === "booked" ? `booked at ${place.zone}` : `${place.state} ${place.zone || place.door || place.last_zone || ""}`) : "–";
  const orders = p ? M.ordersOf(p.history) : [];
  showDetail(
    `Pallet ${p ? p.sscc : id}`,
    facts([
      ["SSCC", el("span", { className: "mono", dataset: { testid: "pallet-sscc" } }, p ? p.sscc : (r && r.sscc) || "–")],
      ["EPC", epc ? el("span", { className: "mono" }, epc) : null],
      ["Item", p && p.sku ? `${p.sku}${name ? ` · ${name}` : ""}` : null],
      ["Lot", p ? p.lot : null],
      ["Expiry", p ? expiryText(p.expiry) : null],
      ["Order", orders.length ? el("span", { dataset: { testid: "pallet-orders" } }, orders.join(", ")) : "none"],
      ["Status", p ? p.status : null],
      ["Booked", p && p.zone ? `${p.zone} · ${p.state} · ${num(p.cases)} cases` : null],
      ["On the map", where],
      ["Received", p && p.received_at ? when(p.received_at) : null],
    ]),
    missing ? el("p", { className: "error" }, missing) : null,
    el("h3", {}, `Movements (${moves.length})`),
    el("ol", { className: "plist", dataset: { testid: "pallet-moves" } }, ...moves.map((m) => el("li", {}, el("span", { className: "t" }, when(m.time)), m.what))),
    p ? el("h3", {}, `Ledger (${p.history.length})`) : null,
    p ? el("ol", { className: "plist" }, ...p.history.map((e) => el("li", {}, el("span", { className: "t" }, when(e.time)), `${e.kind} ${e.qty > 0 ? "+" : ""}${e.qty} ${e.location} · ${e.state} (${e.cause.kind} ${e.cause.id})`))) : null,
  );
}

function hit(ev) {
  const rect = $("pallets").getBoundingClientRect();
  const x = (ev.clientX - rect.left - ox) / scale;
  const y = (ev.clientY - rect.top - oy) / scale;
  let best = null;
  let bestD = Infinity;
  const now = performance.now();
  for (const [key, d] of drawn) {
    const c = current(d, now);
    const dist = Math.hypot(c.x - x, c.y - y);
    if (dist < Math.max(d.size, 0.5) && dist < bestD) { best = key; bestD = dist; }
  }
  return best;
}

/** Where pallet ``key`` is drawn, in client pixels (for the tests and the bench). */
window.rfidwmsMap.screenOf = (key) => {
  const d = drawn.get(key);
  if (!d) return null;
  const rect = $("pallets").getBoundingClientRect();
  return { x: rect.left + ox + d.x * scale, y: rect.top + oy + d.y * scale };
};

$("pallets").addEventListener("click", (ev) => {
  const key = hit(ev);
  if (key) { selectPallet(key); return; }
  // a click on the floor: the zone under it (the canvas lies over the plan)
  const under = document.elementsFromPoint(ev.clientX, ev.clientY).find((e) => e.closest && e.closest("#plan .zone"));
  if (under) chooseZone(under.closest("#plan .zone").dataset.zone);
});

$("tools").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("find").value.replace(/\s+/g, "").toUpperCase();
  if (!t) return;
  const key = pallets.has(t) ? t : bySscc.get(t) || t;
  selectPallet(key);
});

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && selected) { selected = null; wake(); }
});

$("site-select").addEventListener("change", async () => {
  site = $("site-select").value;
  localStorage.setItem(SITE_KEY, site);
  try {
    await loadSite();
    feed.start(); // a fresh snapshot for the site shown
  } catch (e) {
    failed(e);
  }
});

new ResizeObserver(() => { if (plan) resize(); }).observe($("stage"));

// -- replay -------------------------------------------------------------------------------------

function replayTime() {
  return replay.start + Number($("replay-slider").value) * 1000;
}

async function startReplay() {
  const end = Date.now();
  const start = end - HOUR_MS;
  const since = new Date(start).toISOString();
  $("replay-toggle").disabled = true;
  $("replay-time").textContent = "loading…";
  try {
    const events = [];
    for (const path of ["/api/zone-events", "/api/passages"]) {
      let cursor = null;
      let pages = 0;
      do {
        const page = await api(`${path}${query({ site, since, limit: 1000, cursor })}`); // the site shown only
        events.push(...page.items);
        cursor = page.next;
        pages += 1;
      } while (cursor && pages < 100);
    }
    const booked = new Map([...pallets.values()].filter((r) => r.booked).map((r) => [r.key, r.booked]));
    replay = { model: new M.Replay(events, livePlaces(), booked), start, end, playing: false, speed: Number($("replay-speed").value), applied: -1, last: 0 };
    for (const e of replay.model.events) record(e.epc, e.epc);
    $("replay-controls").hidden = false;
    $("replay-toggle").setAttribute("aria-pressed", "true");
    $("replay-toggle").textContent = "Back to live";
    $("replay-slider").value = "0";
    renderReplay(true);
    $("replay-slider").focus();
  } catch (e) {
    replay = null;
    failed(e);
  } finally {
    $("replay-toggle").disabled = false;
  }
}

function stopReplay() {
  if (!replay) return;
  replay = null;
  $("replay-controls").hidden = true;
  $("replay-toggle").setAttribute("aria-pressed", "false");
  $("replay-toggle").textContent = "Replay last hour";
  $("replay-play").textContent = "▶";
  $("replay-play").setAttribute("aria-label", "Play");
  showAll(livePlaces(), true);
}

/** Show the pallets as they were at the slider's time (only when an event was crossed). */
function renderReplay(force) {
  const t = replayTime();
  $("replay-time").textContent = clock(new Date(t).toISOString());
  const events = replay.model.events;
  let lo = 0;
  let hi = events.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (events[mid].t <= t) lo = mid + 1; else hi = mid; }
  if (force || lo !== replay.applied) {
    replay.applied = lo;
    showAll(replay.model.at(t), true);
  }
  wake();
}

function stepReplay(now) {
  const dt = replay.last ? now - replay.last : 0;
  replay.last = now;
  const slider = $("replay-slider");
  const v = Math.min(3600, Number(slider.value) + (dt * replay.speed) / 1000);
  slider.value = String(v);
  renderReplay(false);
  if (v >= 3600) togglePlay();
}

function togglePlay() {
  if (!replay) return;
  replay.playing = !replay.playing;
  replay.last = 0;
  if (replay.playing && Number($("replay-slider").value) >= 3600) $("replay-slider").value = "0";
  $("replay-play").textContent = replay.playing ? "❚❚" : "▶";
  $("replay-play").setAttribute("aria-label", replay.playing ? "Pause" : "Play");
  wake();
}

$("replay-toggle").addEventListener("click", () => (replay ? stopReplay() : startReplay()));
$("replay-play").addEventListener("click", togglePlay);
$("replay-speed").addEventListener("change", () => { if (replay) replay.speed = Number($("replay-speed").value); });
$("replay-slider").addEventListener("input", () => { if (replay) renderReplay(false); });
