// Orders page: GET /api/orders (newest first, paged by its cursor) filtered by status
// and customer; the order chosen (its id in the address: #order=SO-000123) in detail
// from GET /api/orders/{id}: its facts, timeline, lines, pick route (the pick tasks in
// route order, from packing and back), the weight checks of its pallets and the door
// passages that shipped them; the pick route is also drawn over the site's floor plan
// (GET /api/sites/{site}/layout, through /common/floorplan.js). The live feed's "order" messages (each the order's
// summary as it stood) update the list and the detail without a reload.

import { $, api, ApiError, el, num, query, shell, when } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";
import * as F from "/common/floorplan.js";

const PAGE = 50;
export const STATUSES = [
  "received", "allocated", "partially_allocated", "backordered", "picking", "picked",
  "packed", "loading", "shipped", "on_hold", "cancelled",
];

const list = { orders: new Map(), next: null };
let snapshots = 0;

const feed = new LiveFeed({
  snapshot() {
    if (snapshots++) { load(); showDetail(); } // catch up on what the page may have missed
  },
  order(msg) { changed(msg.order); },
  seq: (n) => { $("seq").textContent = `#${n}`; },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Orders",
  current: "/orders",
  what: "the orders page",
  start() {
    load();
    showDetail();
    feed.start();
  },
  stop() {
    feed.stop();
    list.orders.clear();
    list.next = null;
    snapshots = 0;
    render();
    $("detail-body").replaceChildren(el("p", { className: "empty" }, "Choose an order."));
  },
});

const statusBadge = (s) => el("span", { className: `status ${s}`, dataset: { testid: "status" } }, s.replaceAll("_", " "));
const cases = (o) => o.lines.reduce((n, l) => n + l.qty, 0);

function showError(e) {
  $("error").hidden = !e;
  $("error").textContent = e ? (e instanceof ApiError ? e.detail : String(e)) : "";
}

// -- the list ------------------------------------------------------------------------------

function filters() {
  return { status: $("status").value, customer: $("customer").value.trim() };
}

function matches(o) {
  const f = filters();
  return (!f.status || o.status === f.status) && (!f.customer || o.customer === f.customer);
}

async function load(more = false) {
  const f = filters();
  try {
    const page = await api(`/api/orders${query({ ...f, limit: PAGE, cursor: more ? list.next : null })}`);
    const now = filters();
    if (f.status !== now.status || f.customer !== now.customer) return; // changed meanwhile
    if (!more) list.orders.clear();
    for (const o of page.items) list.orders.set(o.id, o);
    list.next = page.next;
    showError(null);
  } catch (e) {
    showError(e);
  }
  render();
}

function row(o) {
  const tr = el(
    "tr",
    { dataset: { order: o.id, status: o.status, testid: "order-row" }, tabIndex: 0,
      onclick: () => choose(o.id),
      onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); choose(o.id); } } },
    el("td", { className: "id" }, o.id, o.order ? el("span", { className: "client" }, o.order) : null),
    el("td", {}, o.customer),
    el("td", {}, statusBadge(o.status)),
    el("td", { className: "num" }, num(cases(o))),
    el("td", { className: "t" }, when(o.requested_at)),
    el("td", { className: "t" }, when(o.updated_at)),
  );
  if (o.id === selected()) tr.classList.add("selected");
  return tr;
}

function render() {
  const orders = [...list.orders.values()].filter(matches);
  $("orders-body").replaceChildren(...orders.map(row));
  $("orders-empty").hidden = orders.length > 0;
  $("orders-empty").textContent = "No orders match.";
  $("more").hidden = !list.next;
  $("shown").textContent = `${orders.length}${list.next ? "+" : ""} shown`;
}

/** An order's summary from the feed: into the list (at the top when new), the detail
 *  read again when it is the one shown. */
function changed(o) {
  const known = list.orders.get(o.id);
  if (known) {
    list.orders.set(o.id, { ...known, ...o });
  } else if (matches(o)) {
    list.orders = new Map([[o.id, { ...o, lines: [] }], ...list.orders]);
    api(`/api/orders/${encodeURIComponent(o.id)}`).then((full) => { list.orders.set(o.id, { ...full }); render(); }).catch(() => {});
  }
  render();
  const tr = $("orders-body").querySelector(`tr[data-order="${CSS.escape(o.id)}"]`);
  if (tr) tr.classList.add("fresh");
  if (o.id === selected()) showDetail();
}

// -- the detail -----------------------------------------------------------------------------

function selected() {
  return new URLSearchParams(location.hash.slice(1)).get("order");
}

function choose(id) {
  location.hash = `order=${encodeURIComponent(id)}`;
}

let shown = 0; // the latest detail asked for: an older answer is dropped

async function showDetail() {
  const id = selected();
  for (const tr of $("orders-body").querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.order === id);
  if (!id) return;
  const mine = ++shown;
  try {
    const o = await api(`/api/orders/${encodeURIComponent(id)}`);
    if (mine === shown) renderDetail(o);
  } catch (e) {
    if (mine !== shown) return;
    $("detail-status").textContent = "";
    $("detail-body").replaceChildren(
      el("p", { className: "error", dataset: { testid: "detail-error" } },
        e instanceof ApiError && e.status === 404 ? `Order ${id} not found.` : `Cannot load order ${id}: ${e.detail || e}`),
    );
  }
}

function section(title, ...children) {
  return el("section", {}, el("h3", {}, title), ...children);
}

function facts(pairs) {
  const dl = el("dl", { className: "facts" });
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v ?? "–"));
  return dl;
}

function why(e) {
  const bits = [];
  if (e.cause) bits.push(`${e.cause.kind} ${e.cause.id}`);
  for (const [k, v] of Object.entries(e.detail || {})) {
    if (v !== null && v !== undefined && typeof v !== "object") bits.push(`${k} ${v}`);
  }
  return bits.join(" · ");
}

function timeline(o) {
  return el("ol", { className: "timeline", dataset: { testid: "timeline" } },
    ...o.timeline.map((e) => el("li", { dataset: { event: e.event } },
      el("span", { className: "t" }, when(e.time)),
      el("strong", {}, e.event.replaceAll("_", " ")),
      e.event !== e.status ? el("span", {}, " → ", statusBadge(e.status)) : null,
      why(e) ? el("span", { className: "why" }, why(e)) : null)));
}

function lines(o) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...["Line", "Item (GTIN)", "Ordered", "Reserved", "Picked", "Shipped"].map((h, i) => el("th", { className: i > 1 ? "num" : "" }, h)))),
    el("tbody", {}, ...o.lines.map((l) => el("tr", {},
      el("td", {}, String(l.line)), el("td", { className: "mono" }, l.sku),
      ...[l.qty, l.allocated, l.picked, l.shipped].map((n) => el("td", { className: "num" }, num(n)))))));
}

function route(o) {
  const tasks = [...o.pick_tasks].sort((a, b) => a.seq - b.seq);
  if (!tasks.length) return el("p", { className: "empty" }, "No pick tasks (nothing reserved).");
  const start = tasks[0].to_location;
  const stops = el("ol", { className: "route", dataset: { testid: "pick-route" } },
    el("li", {}, "start at ", el("span", { className: "loc" }, start)),
    ...tasks.map((t) => el("li", { dataset: { task: t.id, status: t.status } },
      el("span", { className: "loc" }, t.from_location), ` take pallet ${t.pallet || "(loose cases)"}, ${num(t.qty)} cases `,
      t.picked_at ? el("span", { className: "done" }, `✓ at packing ${when(t.picked_at)}`) : el("span", { className: "muted" }, t.status))),
    el("li", {}, "back to ", el("span", { className: "loc" }, tasks[tasks.length - 1].to_location)));
  const pl = o.pick_list;
  const summary = pl
    ? el("p", { className: "muted" }, `${pl.route_m.toFixed(1)} m walked in this order; ${pl.naive_route_m.toFixed(1)} m in the order reserved (${Math.round(pl.saving * 100)} % saved).`)
    : null;
  const figure = el("figure", { className: "routemap", dataset: { testid: "route-map" } });
  drawRoute(figure, o, tasks);
  return el("div", { className: "routebox" }, el("div", {}, stops, summary), figure);
}

// -- the pick route on the floor plan ----------------------------------------------------------

const plans = new Map(); // site -> the promise of its layout

function planOf(site) {
  if (!plans.has(site)) {
    const asked = api(`/api/sites/${encodeURIComponent(site)}/layout`);
    asked.catch(() => plans.delete(site)); // asked again next time
    plans.set(site, asked);
  }
  return plans.get(site);
}

/** The walk of ``tasks`` (in route order) from packing through each pallet's place and
 *  back, over the floor plan of the order's site, into ``figure``: a path along the
 *  aisles and a numbered mark per stop (ticked once its pallets reached packing). */
async function drawRoute(figure, o, tasks) {
  let plan;
  try {
    plan = await planOf(o.site);
  } catch (e) {
    figure.replaceChildren(el("figcaption", { className: "muted" }, `No floor plan of ${o.site}: ${e.detail || e.message}`));
    return;
  }
  const places = [tasks[0].to_location, ...tasks.map((t) => t.from_location), tasks[tasks.length - 1].to_location];
  const { stops, unknown } = F.walkStops(places, F.placePoints(plan));
  const last = places.length;
  const marks = stops.map((s) => {
    const picks = s.visits.filter((v) => v !== 1 && v !== last).map((v) => tasks[v - 2]);
    const home = picks.length < s.visits.length;
    const done = picks.length > 0 && picks.every((t) => t.picked_at);
    const label = picks.map((t) => t.seq).join(",");
    return F.svg("g",
      { class: `stop${home ? " home" : ""}${done ? " done" : ""}`, "data-testid": "route-stop", "data-place": s.id, "data-picks": label },
      F.svg("title", {}, home && !picks.length ? `${s.id}: start and end` : `${s.id}: pick ${label}`),
      home && !picks.length
        ? F.svg("rect", { x: s.x - 0.9, y: s.y - 0.9, width: 1.8, height: 1.8 })
        : F.svg("circle", { cx: s.x, cy: s.y, r: 1.1 }),
      picks.length ? F.svg("text", { x: s.x, y: s.y + 0.45, "text-anchor": "middle" }, label) : null);
  });
  const view = F.planView(plan);
  const drawing = F.svg("svg",
    { class: "floorplan", viewBox: F.viewBox(view), role: "img", "aria-label": `Pick route of ${o.id} over the floor plan of ${plan.warehouse.name}` },
    ...F.planShapes(plan),
    F.svg("path", { class: "walk", d: F.walkPath(stops), "data-testid": "route-path" }),
    ...marks);
  const missing = unknown.length ? [el("figcaption", { className: "muted" }, `Not on the plan: ${unknown.join(", ")}`)] : [];
  figure.replaceChildren(drawing, ...missing);
}

function weights(o) {
  const checked = o.pick_tasks.filter((t) => t.weight);
  if (!checked.length) return el("p", { className: "empty", dataset: { testid: "weights" } }, "No pallet of this order weighed yet.");
  return el("ul", { dataset: { testid: "weights" } }, ...checked.map((t) => {
    const w = t.weight;
    return el("li", { className: `weight ${w.verdict}`, dataset: { verdict: w.verdict } },
      `${t.pallet}: ${w.verdict} — ${w.measured_kg.toFixed(1)} kg measured, ${w.expected_kg.toFixed(1)} ± ${w.tolerance_kg.toFixed(1)} kg expected`,
      w.scale ? ` on ${w.scale}` : "", w.time ? ` at ${when(w.time)}` : "");
  }));
}

function passages(o) {
  const shipped = o.timeline.filter((e) => e.event === "pallet_shipped");
  if (!shipped.length) return el("p", { className: "empty", dataset: { testid: "shipped-by" } }, "Nothing of this order has left through a door yet.");
  return el("ul", { dataset: { testid: "shipped-by" } }, ...shipped.map((e) => el("li", {},
    `${when(e.time)}: pallet ${e.detail.pallet ?? "?"} out through ${e.detail.door ?? "?"}`,
    e.cause ? ` (${e.cause.kind} ${e.cause.id})` : "")));
}

function renderDetail(o) {
  $("detail-status").replaceChildren(statusBadge(o.status));
  $("detail-body").replaceChildren(
    el("div", { dataset: { order: o.id, status: o.status } },
      facts([
        ["Order", el("span", { className: "mono", dataset: { testid: "detail-id" } }, o.id)],
        ["Their id", o.order],
        ["Customer", o.customer],
        ["Status", statusBadge(o.status)],
        ["On hold because", o.hold_reason],
        ["Door", o.ship_door],
        ["Wanted by", when(o.requested_at)],
        ["Taken", when(o.created_at)],
        ["Shipped", when(o.shipped_at)],
      ])),
    section("Timeline", timeline(o)),
    section("Lines", lines(o)),
    section("Pick route", route(o)),
    section("Weight checks", weights(o)),
    section("Door passages that shipped it", passages(o)),
  );
}

// -- the controls ----------------------------------------------------------------------------

for (const s of STATUSES) $("status").append(el("option", { value: s }, s.replaceAll("_", " ")));
$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
$("status").addEventListener("change", () => load());
$("more").addEventListener("click", () => load(true));
window.addEventListener("hashchange", () => showDetail());
