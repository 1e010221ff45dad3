// Stock page: the balances of GET /api/stock (by item, lot, zone and state, paged),
// expiry colour-coded, a search by GTIN (the balances of that item), SSCC or EPC (the
// pallet, GET /api/pallets/{epc}; the EPC of a case that has been read finds its
// pallet through GET /api/tags/{epc}), and the ledger history of a balance (GET /api/ledger with the
// balance's site, sku, lot, zone and state: its entries sum to its quantity).
//
// Live: the feed has no stock messages of its own; the ledger changes when the
// warehouse feed books a passage or a zone event, so a delta carrying passages, zone
// events or tag places (or a stock alert) refreshes the balances shortly after (and
// once more a little later, as the booking follows the event), and they are also
// refreshed every 30 s for the changes made through the API (scans, orders).

import { $, api, ApiError, el, num, query, shell, when } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";

const PAGE = 200; // balances per page
const POLL_MS = 30000;
const STOCK_ALERTS = new Set(["low_stock", "overstock", "expiry", "unexpected_receipt", "short_receipt", "over_receipt"]);
const SOON_KEY = "rfidwms.stock.soonDays";

const view = {
  sku: null, // the GTIN searched for, or null for every item
  rows: [], // balances loaded
  next: null, // cursor of the next page
  selected: null, // key of the balance whose history is shown
  loading: null, // the promise of the load under way
};
const items = new Map(); // sku -> name
let refreshTimers = [];
let snapshots = 0;
let pollTimer = null;

const feed = new LiveFeed({
  delta(msg) {
    if (msg.passages.length || msg.zone_events.length || msg.places.length) refreshSoon();
  },
  alert(msg) {
    if (STOCK_ALERTS.has(msg.alert.kind)) refreshSoon();
  },
  snapshot() { // a reconnection that could not resume: catch up on what may have been missed
    if (snapshots++) refreshSoon();
  },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Stock",
  current: "/stock",
  what: "the stock page",
  start() {
    loadItems();
    reload();
    feed.start();
    clearInterval(pollTimer);
    pollTimer = setInterval(() => { if (!document.hidden) reload(); }, POLL_MS);
  },
  stop() {
    feed.stop();
    clearInterval(pollTimer);
    for (const t of refreshTimers) clearTimeout(t);
    view.rows = [];
    view.next = null;
    view.selected = null;
    render();
    showDetail("Ledger history", el("p", { className: "empty" }, "Signed out."));
  },
});

// -- expiry ----------------------------------------------------------------------------

function soonDays() {
  const n = Number($("soon-days").value);
  return Number.isFinite(n) && n >= 0 ? n : 30;
}

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

/** "expired", "soon", "ok" or "none" for an expiry date (YYYY-MM-DD) seen today. */
function expiryClass(expiry) {
  if (!expiry) return "none";
  const today = new Date();
  if (expiry < isoDay(today)) return "expired";
  const limit = new Date(today.getFullYear(), today.getMonth(), today.getDate() + soonDays());
  return expiry <= isoDay(limit) ? "soon" : "ok";
}

function expiryCell(expiry) {
  const cls = expiryClass(expiry);
  const days = expiry ? Math.round((new Date(`${expiry}T00:00:00`) - new Date(isoDay(new Date()) + "T00:00:00")) / 86400000) : null;
  if (!expiry) return el("span", { className: "exp none", title: "no expiry" }, "–");
  const label = cls === "expired" ? `expired ${-days} d ago` : days === 0 ? "expires today" : `in ${days} d`;
  return el("span", {}, el("span", { className: `exp ${cls}`, title: cls }, expiry), el("span", { className: "sub" }, label));
}

// -- balances ----------------------------------------------------------------------------

const keyOf = (b) => [b.site, b.sku, b.lot, b.zone, b.state].join("|");

async function loadItems() {
  try {
    let cursor = null;
    do {
      const page = await api(`/api/items${query({ limit: 1000, cursor })}`);
      for (const i of page.items) items.set(i.sku, i.name);
      cursor = page.next;
    } while (cursor && items.size < 20000);
    render();
  } catch (e) {
    console.warn("stock: cannot load the item names", e);
  }
}

/** Load the balances again, as many as were shown (at least a page). */
function reload() {
  const want = Math.max(PAGE, view.rows.length);
  view.loading = (async () => {
    try {
      const rows = [];
      let cursor = null;
      do {
        const page = await api(`/api/stock${query({ sku: view.sku, limit: Math.min(1000, want - rows.length), cursor })}`);
        rows.push(...page.items);
        cursor = page.next;
      } while (cursor && rows.length < want);
      view.rows = rows;
      view.next = cursor;
      $("updated").textContent = when(new Date().toISOString());
      render();
      if (view.selected) refreshHistory();
    } catch (e) {
      failed(e);
    }
  })();
  return view.loading;
}

async function loadMore() {
  if (!view.next) return;
  try {
    const page = await api(`/api/stock${query({ sku: view.sku, limit: PAGE, cursor: view.next })}`);
    view.rows.push(...page.items);
    view.next = page.next;
    render();
  } catch (e) {
    failed(e);
  }
}

function refreshSoon() {
  if (refreshTimers.length) return; // one already coming
  refreshTimers = [1500, 4000, 9000].map((ms, i, all) => setTimeout(() => {
    reload();
    if (i === all.length - 1) refreshTimers = [];
  }, ms));
}

function render() {
  const body = $("balances-body");
  const state = $("state-filter").value;
  const shown = view.rows.filter((b) => !state || b.state === state);
  body.replaceChildren();
  let cases = 0;
  let expired = 0;
  let soon = 0;
  for (const b of shown) {
    cases += b.qty;
    const cls = expiryClass(b.expiry);
    if (cls === "expired") expired += 1;
    if (cls === "soon") soon += 1;
    const key = keyOf(b);
    const history = el("button", { type: "button", className: "history", onclick: () => showHistory(b) }, "History");
    history.setAttribute("aria-label", `Ledger history of ${b.sku} lot ${b.lot} in ${b.zone}, ${b.state}`);
    const tr = el(
      "tr",
      { dataset: { testid: "balance-row", key, sku: b.sku, lot: b.lot, zone: b.zone, state: b.state } },
      el("td", { className: "item", title: items.get(b.sku) || "" }, el("span", { className: "mono" }, b.sku), items.has(b.sku) ? el("span", { className: "name" }, items.get(b.sku)) : null),
      el("td", {}, b.lot),
      el("td", {}, expiryCell(b.expiry)),
      el("td", {}, el("span", { className: "rp" }, b.zone), el("span", { className: "sub" }, b.state)),
      el("td", { className: "num" }, num(b.qty)),
      el("td", {}, history),
    );
    if (key === view.selected) tr.classList.add("selected");
    body.append(tr);
  }
  $("lines").textContent = num(shown.length) + (view.next ? "+" : "");
  $("cases").textContent = num(cases) + (view.next ? "+" : "");
  $("expired-count").textContent = num(expired);
  $("soon-count").textContent = num(soon);
  $("filtered").textContent = view.sku ? `· item ${view.sku}` : "";
  $("balances-empty").hidden = shown.length > 0;
  $("balances-empty").textContent = view.sku ? `No stock of ${view.sku}.` : "No stock.";
  $("more").hidden = !view.next;
}

// -- the detail panel: a balance's ledger, or a pallet ---------------------------------------

function showDetail(title, ...children) {
  $("detail-title").textContent = title;
  $("detail-body").replaceChildren(...children);
}

function entryRows(entries, running) {
  let total = 0;
  return entries.map((e) => {
    total += e.qty;
    return el(
      "tr",
      { dataset: { testid: "ledger-row", kind: e.kind } },
      el("td", { className: "t" }, when(e.time), el("span", { className: "sub kind" }, e.kind)),
      el(
        "td",
        { className: "cause" },
        el("span", {}, `${e.cause.kind} ${e.cause.id}`),
        el("span", { className: "sub mono" }, running ? (e.pallet ? `pallet ${e.pallet}` : "loose cases") : `${e.location} · ${e.state}`),
      ),
      el("td", { className: `num ${e.qty > 0 ? "qty-in" : "qty-out"}` }, e.qty > 0 ? `+${e.qty}` : `${e.qty}`),
      running ? el("td", { className: "num" }, num(total)) : null,
    );
  });
}

function ledgerTable(entries, running) {
  const head = ["Time · kind", running ? "Cause · pallet" : "Cause · where", "Qty"].concat(running ? ["Balance"] : []);
  return el(
    "table",
    { id: "ledger" },
    el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { className: i >= 2 ? "num" : "" }, h)))),
    el("tbody", { id: "ledger-body" }, ...entryRows(entries, running)),
  );
}

let historyOf = null; // the balance shown

async function showHistory(b) {
  view.selected = keyOf(b);
  historyOf = b;
  render();
  await refreshHistory();
}

async function refreshHistory() {
  const b = historyOf;
  if (!b) return;
  const title = `Ledger · ${b.sku} · ${b.lot} · ${b.zone} · ${b.state}`;
  try {
    const entries = [];
    let cursor = null;
    do {
      const page = await api(`/api/ledger${query({ site: b.site, sku: b.sku, lot: b.lot, zone: b.zone, state: b.state, limit: 1000, cursor })}`);
      entries.push(...page.items);
      cursor = page.next;
    } while (cursor && entries.length < 5000);
    if (historyOf !== b) return;
    const total = entries.reduce((s, e) => s + e.qty, 0);
    showDetail(
      title,
      el("p", { className: "empty summary" }, `${entries.length} entries, oldest first; they sum to ${num(total)} cases${cursor ? " (first 5,000 shown)" : ""}.`),
      ledgerTable(entries, true),
    );
  } catch (e) {
    if (e instanceof ApiError) showDetail(title, el("p", { className: "error" }, e.detail));
    else throw e;
  }
}

function facts(pairs) {
  const dl = el("dl", { className: "facts" });
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v ?? "–"));
  return dl;
}

async function showPallet(id) {
  const p = await api(`/api/pallets/${encodeURIComponent(id)}`);
  view.selected = null;
  historyOf = null;
  render();
  const lines = el(
    "table",
    {},
    el("thead", {}, el("tr", {}, el("th", {}, "Item"), el("th", {}, "Lot"), el("th", {}, "Zone"), el("th", {}, "State"), el("th", { className: "num" }, "Cases"))),
    el("tbody", {}, ...p.stock.map((s) => el("tr", {}, el("td", { className: "mono" }, s.sku), el("td", {}, s.lot), el("td", { className: "rp" }, s.zone), el("td", {}, s.state), el("td", { className: "num" }, num(s.qty))))),
  );
  showDetail(
    `Pallet ${p.sscc}`,
    facts([
      ["SSCC", el("span", { className: "mono", dataset: { testid: "pallet-sscc" } }, p.sscc)],
      ["EPC", p.epc ? el("span", { className: "mono" }, p.epc) : null],
      ["Item", p.sku ? `${p.sku}${items.has(p.sku) ? ` · ${items.get(p.sku)}` : ""}` : null],
      ["Lot", p.lot],
      ["Expiry", expiryCell(p.expiry)],
      ["Status", p.status],
      ["Where", p.zone ? `${p.zone} · ${p.state}` : null],
      ["Cases", num(p.cases)],
      ["ASN", p.asn],
      ["Received", p.received_at ? `${when(p.received_at)}${p.received_by ? ` (${p.received_by})` : ""}` : null],
    ]),
    el("h3", {}, "Stock"),
    lines,
    el("h3", {}, `Ledger history (${p.history.length})`),
    ledgerTable(p.history, false),
  );
}

// -- search -----------------------------------------------------------------------------------

function showError(text) {
  $("search-error").textContent = text;
  $("search-error").hidden = !text;
}

function failed(e) {
  if (e instanceof ApiError) {
    if (e.status !== 401 && e.status !== 403) showError(e.detail);
  } else {
    console.warn("stock:", e);
    showError(`The API did not answer (${e.message}).`);
  }
}

async function find(text) {
  const t = text.replace(/\s+/g, "");
  showError("");
  try {
    if (/^\d{13,14}$/.test(t)) { // a GTIN-13 or GTIN-14: the item's balances
      view.sku = t.padStart(14, "0");
      view.rows = [];
      await reload();
    } else if (/^\d{18}$/.test(t)) { // an SSCC
      await showPallet(t);
    } else if (/^31[0-9A-Fa-f]{22}$/.test(t)) { // an SSCC-96 EPC (header 0x31): a pallet
      await showPallet(t);
    } else if (/^[0-9A-Fa-f]{24,}$/.test(t)) { // another EPC (a case's): where it was read
      const tag = await api(`/api/tags/${encodeURIComponent(t)}`);
      if (!tag.pallet) {
        showError(`EPC ${tag.epc} is not on a pallet (last read at ${tag.read_point}).`);
        return;
      }
      await showPallet(tag.pallet);
    } else {
      showError(`${JSON.stringify(text.trim())} is not a GTIN (13 or 14 digits), an SSCC (18 digits) or an EPC (hex).`);
    }
  } catch (e) {
    failed(e);
  }
}

$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("search").value;
  if (text.trim()) find(text);
});
$("clear").addEventListener("click", () => {
  $("search").value = "";
  showError("");
  view.sku = null;
  view.rows = [];
  reload();
});
$("more").addEventListener("click", loadMore);
$("state-filter").addEventListener("change", render);
$("soon-days").value = localStorage.getItem(SOON_KEY) || "30";
$("soon-days").addEventListener("change", () => {
  localStorage.setItem(SOON_KEY, String(soonDays()));
  render();
});
