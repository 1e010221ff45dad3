// Customer portal: a customer signs in with its token (role customer) and sees its own
// orders (the API and the live feed give a customer nothing else): each with its
// status, the steps it went through (its timeline), the date it was wanted by and the
// date what is short can be promised (GET /api/availability for the cases not
// reserved), kept live by the feed's "order" messages; and the availability of an
// item. The order followed is in the address (#order=SO-000123); another customer's
// order is "not found", as the API answers.

import { $, api, ApiError, el, num, query, shell, when } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";
import { facts, flash, fromHash, label, latest, markSelected, PagedList, showError, statusBadge } from "/common/orderlist.js";

const PAGE = 20;
const STEPS = ["received", "allocated", "picking", "picked", "packed", "loading", "shipped"];
const STEP_OF = { partially_allocated: "allocated", backordered: "allocated" };

const list = new PagedList();
let snapshots = 0;

const feed = new LiveFeed({
  snapshot() {
    if (snapshots++) { load(); showDetail(); } // catch up on what the page may have missed
  },
  order(msg) { changed(msg.order); },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Customer portal",
  current: "/portal",
  what: "the customer portal",
  roles: "customer",
  start() {
    load();
    showDetail();
    feed.start();
  },
  stop() {
    feed.stop();
    list.clear();
    snapshots = 0;
    render();
    $("detail-body").replaceChildren(el("p", { className: "empty" }, "Choose an order to follow it."));
    $("avail-result").replaceChildren();
  },
});

const day = (iso) => (iso ? new Date(iso).toLocaleDateString("en-CA") : "–");

// -- the orders ---------------------------------------------------------------------------

async function load(more = false) {
  try {
    await list.load("/api/orders", { limit: PAGE }, { more });
    showError(null);
  } catch (e) {
    showError(e);
  }
  render();
}

function card(o) {
  const li = el("li", { dataset: { order: o.id, status: o.status, testid: "order-card" } },
    el("a", { href: `#order=${encodeURIComponent(o.id)}` },
      el("span", { className: "id" }, o.order ? `${o.order} · ${o.id}` : o.id),
      statusBadge(o.status),
      el("span", { className: "sub" }, `wanted by ${day(o.requested_at)} · updated ${when(o.updated_at)}`)));
  if (o.id === selected()) li.classList.add("selected");
  return li;
}

function render() {
  const orders = list.values;
  $("orders").replaceChildren(...orders.map(card));
  $("orders-empty").hidden = orders.length > 0;
  $("orders-empty").textContent = "No orders yet.";
  $("more").hidden = !list.next;
  $("shown").textContent = orders.length ? `${orders.length}${list.next ? "+" : ""}` : "";
}

function changed(o) {
  list.update(o);
  render();
  flash($("orders"), "order", o.id);
  if (o.id === selected()) showDetail();
}

// -- one order -------------------------------------------------------------------------------

const selected = () => fromHash("order");
const ask = latest(); // the latest detail asked for: an older answer is dropped

async function showDetail() {
  const id = selected();
  markSelected($("orders"), "order", id);
  if (!id) return;
  const mine = ask();
  try {
    const o = await api(`/api/orders/${encodeURIComponent(id)}`);
    const promised = await promise(o);
    if (mine()) renderDetail(o, promised);
  } catch (e) {
    if (!mine()) return;
    $("detail-body").replaceChildren(el("p", { className: "error", dataset: { testid: "detail-error" } },
      e instanceof ApiError && e.status === 404 ? `Order ${id} not found.` : `Cannot load order ${id}: ${e.detail || e}`));
  }
}

/** line -> the promised date of its cases not reserved (null: cannot be promised), for
 *  an order still open; {} when nothing is short. */
async function promise(o) {
  if (["shipped", "cancelled"].includes(o.status)) return {};
  const out = {};
  for (const l of o.lines.filter((x) => x.qty > x.allocated)) {
    try {
      const a = await api(`/api/availability${query({ sku: l.sku, qty: l.qty - l.allocated })}`);
      out[l.line] = a.promised_date;
    } catch (e) {
      out[l.line] = null;
    }
  }
  return out;
}

function steps(o) {
  const at = STEPS.indexOf(STEP_OF[o.status] || o.status);
  const reached = new Set(o.timeline.map((e) => STEP_OF[e.status] || e.status));
  return el("ol", { className: "steps", ariaLabel: "Progress" }, ...STEPS.map((s, i) => {
    const li = el("li", {}, label(s));
    if (reached.has(s) || (at >= 0 && i < at)) li.classList.add("reached");
    if (i === at) { li.classList.add("now"); li.setAttribute("aria-current", "step"); }
    return li;
  }));
}

function promisedText(o, promised) {
  const short = Object.values(promised);
  if (o.status === "shipped") return `shipped ${when(o.shipped_at)}`;
  if (o.status === "cancelled") return "cancelled";
  if (!short.length) return o.requested_at ? `in stock, for ${day(o.requested_at)}` : "in stock, reserved for you";
  if (short.some((d) => d === null)) return "not yet: the missing cases are not announced";
  return short.sort().at(-1);
}

function renderDetail(o, promised) {
  $("detail-body").replaceChildren(
    el("div", { dataset: { order: o.id, status: o.status } },
      facts([
        ["Order", el("span", { className: "mono", dataset: { testid: "detail-id" } }, o.order ? `${o.order} (${o.id})` : o.id)],
        ["Status", el("span", { dataset: { testid: "detail-status" } }, statusBadge(o.status))],
        ["On hold", o.hold_reason || undefined],
        ["Wanted by", day(o.requested_at)],
        ["Promised", el("span", { dataset: { testid: "promised" } }, promisedText(o, promised))],
        ["Ordered", when(o.created_at)],
      ])),
    el("section", {}, el("h3", {}, "Progress"), steps(o)),
    el("section", {}, el("h3", {}, "Lines"),
      el("div", { className: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Item"), el("th", { className: "num" }, "Cases"), el("th", { className: "num" }, "Reserved"), el("th", { className: "num" }, "Shipped"), el("th", {}, "Promised"))),
        el("tbody", {}, ...o.lines.map((l) => el("tr", {},
          el("td", { className: "mono" }, l.sku), el("td", { className: "num" }, num(l.qty)),
          el("td", { className: "num" }, num(l.allocated)), el("td", { className: "num" }, num(l.shipped)),
          el("td", {}, l.line in promised ? (promised[l.line] ?? "not yet") : "–"))))))),
    el("section", {}, el("h3", {}, "Timeline"),
      el("ol", { className: "timeline", dataset: { testid: "timeline" } }, ...o.timeline.map((e) => el("li", { dataset: { event: e.event } },
        el("span", { className: "t" }, when(e.time)), label(e.event))))),
  );
}

// -- availability -------------------------------------------------------------------------------

$("avail-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const sku = $("avail-sku").value.trim();
  const qty = $("avail-qty").value;
  try {
    const a = await api(`/api/availability${query({ sku, qty })}`);
    $("avail-result").replaceChildren(el("p", {},
      `${num(a.available_now)} cases available now; ${num(a.qty)} `,
      a.promised_date ? `can be had on ${a.promised_date}.` : "cannot be promised yet (stock and announced inbound fall short)."));
  } catch (e) {
    $("avail-result").replaceChildren(el("p", { className: "error" }, e instanceof ApiError ? e.detail : String(e)));
  }
});
$("more").addEventListener("click", () => load(true));
window.addEventListener("hashchange", () => showDetail());
