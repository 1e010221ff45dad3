// Handheld page: an operator with a barcode scanner that types into the focused field
// (a keyboard wedge: the barcode, then Enter). Each scan is first decoded
// (POST /api/scans/decode: a location, a pallet or an item, and every element read);
// a location label (or a label that is just the place's id) sets the location, goods
// are applied with the chosen action (POST /api/scans: receive, move, ship, count).
// The answer says what was done and what was understood; an error says what was wrong,
// in the API's own words (they name the field and the value). The scan field keeps
// the focus, so the next scan can follow at once.

import { $, api, ApiError, clock, el, num, shell } from "/common/app.js";

const RECENT = 20; // scans kept in the session list
const ACTIONS = { receive: "Receive", move: "Move", ship: "Ship", count: "Count" };
const PAST = { receive: "Received", move: "Moved", ship: "Shipped", count: "Counted" };

let action = "receive";
let busy = false;

const ui = shell({
  title: "Handheld",
  current: "/scan",
  what: "the handheld page",
  start() {
    loadPlaces();
    focusScan();
  },
  stop() {
    $("recent").replaceChildren();
    show("idle", "Signed out.");
  },
});

// -- the controls -------------------------------------------------------------------

function focusScan() {
  if (document.activeElement !== $("scan")) $("scan").focus();
}

function choose(next) {
  action = next;
  for (const b of document.querySelectorAll(".action")) b.setAttribute("aria-pressed", String(b.dataset.action === next));
  $("scan-label").textContent = `${ACTIONS[next]}: scan a ${next === "ship" ? "pallet" : "pallet, case"} or location`;
  $("location").options[0].textContent = next === "receive" ? "(the notice's door)" : "(none chosen)";
}

async function loadPlaces() {
  try {
    const sites = await api("/api/sites");
    const site = sites.items[0];
    const select = $("location");
    const keep = select.value;
    select.replaceChildren(select.options[0]);
    for (const [label, ids] of [["Doors", site.doors], ["Zones", site.zones]]) {
      const group = el("optgroup", { label });
      for (const id of ids) group.append(el("option", { value: id }, id));
      select.append(group);
    }
    select.value = keep;
    ui.setConn("live", "Online");
  } catch (e) {
    if (!(e instanceof ApiError)) ui.setConn("offline", "API unreachable");
  }
}

function setLocation(place) {
  const select = $("location");
  if (![...select.options].some((o) => o.value === place)) select.append(el("option", { value: place }, place));
  select.value = place;
}

// -- feedback -----------------------------------------------------------------------

const ELEMENT_NAMES = [
  ["sscc", "(00) SSCC"], ["epc", "EPC"], ["gtin", "(01) GTIN"], ["content", "(02) content"],
  ["lot", "(10) lot"], ["expiry", "(17) expiry"], ["count", "(37) count"], ["serial", "(21) serial"],
  ["gln", "(414) GLN"], ["place", "(254) place"],
];

function understood(elements) {
  const dl = $("result-understood");
  dl.replaceChildren();
  if (!elements) return;
  for (const [key, name] of ELEMENT_NAMES) {
    const v = elements[key];
    if (v !== null && v !== undefined) dl.append(el("dt", {}, name), el("dd", { dataset: { element: key } }, String(v)));
  }
}

function show(state, headline, detail = "", elements = null) {
  $("result").dataset.state = state;
  $("result-headline").textContent = headline;
  $("result-detail").textContent = detail;
  understood(elements);
}

function remember(state, text) {
  const li = el("li", { className: state }, el("span", { className: "t" }, clock(new Date().toISOString())), text);
  $("recent").prepend(li);
  while ($("recent").children.length > RECENT) $("recent").lastChild.remove();
}

const what = (e) => (e.sscc ? `pallet ${e.sscc}` : `${e.gtin || e.content}${e.lot ? ` lot ${e.lot}` : ""}`);
const cases = (n) => `${num(n)} case${Math.abs(n) === 1 ? "" : "s"}`;

/** [state, headline, detail] of a scan's answer (POST /api/scans). */
function outcome(r) {
  const e = r.elements;
  const into = r.entries.filter((x) => x.qty > 0);
  const moved = into.reduce((s, x) => s + x.qty, 0);
  const where = [...new Set(into.map((x) => x.location))].join(", ");
  const states = [...new Set(into.map((x) => x.state))].join(", ");
  if (r.action === "ship") {
    const c = r.door_check;
    if (c.verdict === "mis_shipment") {
      return ["error", `Stop: ${what(e)} must not ship through ${r.location}`, `${c.message}${c.alert ? ` (alert ${c.alert})` : ""}`];
    }
    const out = -r.entries.filter((x) => x.kind === "ship").reduce((s, x) => s + x.qty, 0);
    return ["ok", `Shipped ${what(e)}${c.order ? ` on order ${c.order}` : ""}`, `${cases(out)} left through ${r.location}. ${c.message}`];
  }
  if (r.action === "count") {
    const v = r.variance;
    const counted = r.qty ?? e.count;
    const detail = v === 0 ? "The book was right: nothing posted." : `Book differed by ${v > 0 ? "+" : ""}${v}: adjusted to the count.`;
    return ["ok", `Counted ${cases(counted)} of ${what(e)}${r.location ? ` at ${r.location}` : ""}`, detail];
  }
  if (r.action === "receive") {
    return ["ok", `Received ${what(e)}: ${cases(moved)} at ${where}`, states === "available" ? "Available." : `State: ${states}.`];
  }
  return ["ok", `Moved ${what(e)} to ${where}`, `${cases(moved)} now ${states}.`];
}

// -- a scan -------------------------------------------------------------------------

async function scanned(barcode) {
  if (busy || !barcode.trim()) return;
  busy = true;
  show("busy", "Reading…", barcode);
  try {
    let label;
    try {
      label = await api("/api/scans/decode", { method: "POST", body: { barcode } });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      show("error", "Barcode not understood", e.detail);
      remember("error", `${barcode}: ${e.detail}`);
      return;
    }
    if (label.kind === "location") {
      setLocation(label.location);
      show("ok", `Location: ${label.location}`, "The next scans happen here.", label.elements);
      remember("ok", `location ${label.location}`);
      return;
    }
    const qty = $("qty").value === "" ? null : Number($("qty").value);
    const body = { barcode, action, location: $("location").value || null, qty };
    try {
      const r = await api("/api/scans", { method: "POST", body });
      const [state, headline, detail] = outcome(r);
      show(state, headline, detail, r.elements);
      remember(state, headline);
      $("qty").value = "";
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      show("error", `Not ${PAST[action].toLowerCase()}: ${what(label.elements)}`, e.detail, label.elements);
      remember("error", `${ACTIONS[action]} ${what(label.elements)}: ${e.detail}`);
    }
  } catch (e) {
    console.warn("scan:", e);
    show("error", "The API did not answer", `${e.message}. Scan again when the network is back.`);
    ui.setConn("offline", "API unreachable");
  } finally {
    busy = false;
    focusScan();
  }
}

$("scan-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const barcode = $("scan").value;
  $("scan").value = "";
  scanned(barcode);
});
for (const b of document.querySelectorAll(".action")) {
  b.addEventListener("click", () => { choose(b.dataset.action); focusScan(); });
}
$("location").addEventListener("change", focusScan);
$("qty").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") { ev.preventDefault(); focusScan(); }
});
// a tap anywhere but a control gives the scanner its field back
document.addEventListener("click", (ev) => {
  if (!ev.target.closest("input, select, button, a, #signin")) focusScan();
});
choose(action);
