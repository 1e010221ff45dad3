// Orders and transfers page. Orders: GET /api/orders (newest first, paged by its
// cursor) filtered by site, status and customer; the order chosen (#order=SO-000123 in
// the address) in detail from GET /api/orders/{id}: its facts, timeline, lines, pick
// route (the pick tasks in route order, from packing and back), the weight checks of
// its pallets and the door passages that shipped them; the pick route is also drawn
// over the site's floor plan (GET /api/sites/{site}/layout, through
// /common/floorplan.js). Transfers between sites: GET /api/transfers (by site: leaving
// or coming to it, and status) in the same list; the one chosen (#transfer=TR-000045)
// from GET /api/transfers/{id} with its order at the source (./transfer.js). "Show"
// picks orders, transfers or both. The live feed's "order" and "transfer" messages
// (each the summary as it stood) update the list and the detail without a reload.

import { $, api, ApiError, el, num, shell, when } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";
import * as F from "/common/floorplan.js";
import { facts, flash, fromHash, label, latest, markSelected, PagedList, showError, statusBadge } from "/common/orderlist.js";
import { outcomeBadges, TRANSFER_STATUSES, transferDetail } from "/orders/transfer.js";

const PAGE = 50;
export const STATUSES = [
  "received", "allocated", "partially_allocated", "backordered", "picking", "picked",
  "packed", "loading", "shipped", "on_hold", "cancelled",
];
const AS_TRANSFER = "transfer:"; // a status filter's value for a transfer's status

const orders = new PagedList();
const transfers = new PagedList();
let snapshots = 0;

const feed = new LiveFeed({
  snapshot() {
    if (snapshots++) { load(); showDetail(); } // catch up on what the page may have missed
  },
  order(msg) { orderChanged(msg.order); },
  transfer(msg) { transferChanged(msg.transfer); },
  seq: (n) => { $("seq").textContent = `#${n}`; },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Orders",
  current: "/orders",
  what: "the orders page",
  start() {
    sites();
    load();
    showDetail();
    feed.start();
  },
  stop() {
    feed.stop();
    orders.clear();
    transfers.clear();
    snapshots = 0;
    render();
    $("detail-body").replaceChildren(el("p", { className: "empty" }, "Choose an order or a transfer."));
  },
});

const cases = (x) => x.lines.reduce((n, l) => n + l.qty, 0);

// -- the list ------------------------------------------------------------------------------

function filters() {
  const status = $("status").value;
  const transfer = status.startsWith(AS_TRANSFER);
  return {
    kind: $("kind").value,
    site: $("site-filter").value,
    orderStatus: transfer ? "" : status,
    transferStatus: transfer ? status.slice(AS_TRANSFER.length) : "",
    customer: $("customer").value.trim(),
  };
}

const wantOrders = (f) => f.kind !== "transfers" && !f.transferStatus;
const wantTransfers = (f) => f.kind !== "orders" && !f.orderStatus
  && (!f.customer || f.customer.startsWith("site:")); // a transfer's customer is its destination

function orderMatches(o, f = filters()) {
  return wantOrders(f) && (!f.orderStatus || o.status === f.orderStatus)
    && (!f.customer || o.customer === f.customer) && (!f.site || o.site === f.site);
}

function transferMatches(t, f = filters()) {
  return wantTransfers(f) && (!f.transferStatus || t.status === f.transferStatus)
    && (!f.customer || f.customer === `site:${t.to_site}`)
    && (!f.site || t.from_site === f.site || t.to_site === f.site);
}

async function sites() {
  try {
    const found = await api("/api/sites");
    const select = $("site-filter");
    const was = select.value;
    select.replaceChildren(el("option", { value: "" }, "all"), ...found.items.map((s) => el("option", { value: s.id }, s.id)));
    select.value = [...select.options].some((o) => o.value === was) ? was : "";
  } catch (e) {
    console.warn("orders: no sites", e);
  }
}

async function load(more = false) {
  const f = filters();
  const stale = () => JSON.stringify(filters()) !== JSON.stringify(f); // changed meanwhile
  const lists = [
    [orders, wantOrders(f), "/api/orders", { site: f.site, status: f.orderStatus, customer: f.customer, limit: PAGE }],
    [transfers, wantTransfers(f), "/api/transfers", { site: f.site, status: f.transferStatus, limit: PAGE }],
  ];
  try {
    await Promise.all(lists.map(([list, wanted, path, params]) => {
      if (!wanted) return list.clear();
      if (more && !list.next) return null;
      return list.load(path, params, { more, stale });
    }));
    showError(null);
  } catch (e) {
    showError(e);
  }
  render();
}

function keyed(tr, open) {
  tr.tabIndex = 0;
  tr.addEventListener("click", open);
  tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); } });
  return tr;
}

function orderRow(o) {
  return keyed(el("tr", { dataset: { order: o.id, kind: "order", status: o.status, testid: "order-row" } },
    el("td", { className: "id" }, o.id, o.order ? el("span", { className: "client" }, o.order) : null),
    el("td", {}, o.customer),
    el("td", {}, statusBadge(o.status)),
    el("td", { className: "num" }, num(cases(o))),
    el("td", { className: "t" }, when(o.requested_at)),
    el("td", { className: "t" }, when(o.updated_at))), () => choose("order", o.id));
}

function transferRow(t) {
  return keyed(el("tr", { dataset: { transfer: t.id, kind: "transfer", status: t.status, testid: "transfer-row" } },
    el("td", { className: "id" }, t.id, el("span", { className: "client" }, `transfer · ${t.order_id}`)),
    el("td", {}, `${t.from_site} → ${t.to_site}`),
    el("td", {}, statusBadge(t.status), ...outcomeBadges(t)),
    el("td", { className: "num" }, num(cases(t))),
    el("td", { className: "t" }, when(t.expected_at)),
    el("td", { className: "t" }, when(t.updated_at))), () => choose("transfer", t.id));
}

const EMPTY = { both: "No orders or transfers match.", orders: "No orders match.", transfers: "No transfers match." };

function render() {
  const f = filters();
  const rows = [
    ...orders.values.filter((o) => orderMatches(o, f)).map((o) => [o.created_at, orderRow(o)]),
    ...transfers.values.filter((t) => transferMatches(t, f)).map((t) => [t.created_at, transferRow(t)]),
  ].sort((a, b) => new Date(b[0]) - new Date(a[0]));
  $("orders-body").replaceChildren(...rows.map(([, tr]) => tr));
  const more = (wantOrders(f) && orders.next) || (wantTransfers(f) && transfers.next);
  $("orders-empty").hidden = rows.length > 0;
  $("orders-empty").textContent = EMPTY[f.kind];
  $("more").hidden = !more;
  $("shown").textContent = `${rows.length}${more ? "+" : ""} shown`;
  mark();
}

/** An order's summary from the feed: into the list (at the top when new), the detail
 *  read again when it is the one shown. */
function orderChanged(o) {
  const isNew = !orders.items.has(o.id) && orderMatches(o);
  if (orders.update(isNew ? { ...o, lines: [] } : o, isNew) && isNew) {
    api(`/api/orders/${encodeURIComponent(o.id)}`).then((full) => { orders.update(full); render(); }).catch(() => {});
  }
  render();
  flash($("orders-body"), "order", o.id);
  const sel = selected();
  if (sel && sel.kind === "order" && sel.id === o.id) showDetail();
}

/** A transfer's summary from the feed (with its lines): likewise. */
function transferChanged(t) {
  transfers.update(t, transferMatches(t));
  render();
  flash($("orders-body"), "transfer", t.id);
  const sel = selected();
  if (sel && sel.kind === "transfer" && sel.id === t.id) showDetail();
}

// -- the detail -----------------------------------------------------------------------------

/** {kind: "order" | "transfer", id} of the address, or null. */
function selected() {
  for (const kind of ["transfer", "order"]) {
    const id = fromHash(kind);
    if (id) return { kind, id };
  }
  return null;
}

function choose(kind, id) {
  location.hash = `${kind}=${encodeURIComponent(id)}`;
}

function mark() {
  const sel = selected();
  markSelected($("orders-body"), "order", sel && sel.kind === "order" ? sel.id : null);
  markSelected($("orders-body"), "transfer", sel && sel.kind === "transfer" ? sel.id : null);
}

const ask = latest(); // the latest detail asked for: an older answer is dropped

async function showDetail() {
  mark();
  const sel = selected();
  if (!sel) return;
  const mine = ask();
  const what = sel.kind === "order" ? "Order" : "Transfer";
  try {
    if (sel.kind === "order") {
      const o = await api(`/api/orders/${encodeURIComponent(sel.id)}`);
      if (mine()) renderOrder(o);
    } else {
      const t = await api(`/api/transfers/${encodeURIComponent(sel.id)}`);
      const o = await api(`/api/orders/${encodeURIComponent(t.order_id)}`).catch(() => null);
      if (!mine()) return;
      $("detail-title").textContent = "Transfer";
      $("detail-status").replaceChildren(statusBadge(t.status), ...outcomeBadges(t));
      $("detail-body").replaceChildren(...transferDetail(t, o, { route, weights, passages }));
    }
  } catch (e) {
    if (!mine()) return;
    $("detail-title").textContent = what;
    $("detail-status").textContent = "";
    $("detail-body").replaceChildren(
      el("p", { className: "error", dataset: { testid: "detail-error" } },
        e instanceof ApiError && e.status === 404 ? `${what} ${sel.id} not found.` : `Cannot load ${what.toLowerCase()} ${sel.id}: ${e.detail || e}`),
    );
  }
}

function section(title, ...children) {
  return el("section", {}, el("h3", {}, title), ...children);
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

function renderOrder(o) {
  $("detail-title").textContent = "Order";
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

function statusOptions() {
  const kind = $("kind").value;
  const was = $("status").value;
  const group = (name, values, prefix) => el("optgroup", { label: name },
    ...values.map((s) => el("option", { value: `${prefix}${s}` }, label(s))));
  $("status").replaceChildren(el("option", { value: "" }, "all"),
    kind !== "transfers" ? group("Orders", STATUSES, "") : null,
    kind !== "orders" ? group("Transfers", TRANSFER_STATUSES, AS_TRANSFER) : null);
  $("status").value = [...$("status").options].some((o) => o.value === was) ? was : "";
}

statusOptions();
$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
$("kind").addEventListener("change", () => { statusOptions(); load(); });
$("site-filter").addEventListener("change", () => load());
$("status").addEventListener("change", () => load());
$("more").addEventListener("click", () => load(true));
window.addEventListener("hashchange", () => showDetail());
