// Alerts page: GET /api/alerts (newest raised first, paged) filtered by status and
// kind, kept live by the feed's "alert" messages (raised, raised again, acknowledged,
// resolved: each carries the alert as GET /api/alerts/{id} shows it), with buttons to
// acknowledge (POST /api/alerts/{id}/ack) and resolve (POST .../resolve), who did it
// and when, and the response times the API measures.
//
// The counts of open and acknowledged alerts are those of the live feed's snapshot
// (the unresolved alerts, up to the hub's cap) kept by the alert messages; a
// reconnection that cannot resume gets a new snapshot and loads the list again.

import { $, api, ApiError, duration, el, num, query, shell, when } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";

const PAGE = 100;

const list = { alerts: new Map(), next: null, fresh: new Set() };
const unresolved = new Map(); // id -> alert, from the feed
let snapshots = 0;

const feed = new LiveFeed({
  snapshot(msg) {
    unresolved.clear();
    for (const a of msg.alerts || []) unresolved.set(a.id, a);
    counts();
    if (snapshots++) load(); // catch up on what the page may have missed
  },
  alert(msg) {
    const a = msg.alert;
    if (a.status === "resolved") unresolved.delete(a.id);
    else unresolved.set(a.id, a);
    counts();
    put(a, msg.event === "raised" || msg.event === "raised_again");
  },
  seq: (n) => { $("seq").textContent = `#${n}`; },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Alerts",
  current: "/alerts",
  what: "the alerts page",
  start() {
    loadKinds();
    load();
    feed.start();
  },
  stop() {
    feed.stop();
    list.alerts.clear();
    list.next = null;
    unresolved.clear();
    snapshots = 0;
    render();
    counts();
  },
});

// -- the list ------------------------------------------------------------------------------

function filters() {
  return { status: $("status").value, kind: $("kind").value };
}

function matches(a) {
  const { status, kind } = filters();
  if (kind && a.kind !== kind) return false;
  if (status === "unresolved") return a.status !== "resolved";
  return !status || a.status === status;
}

const newestFirst = (x, y) => (x.raised_at < y.raised_at ? 1 : x.raised_at > y.raised_at ? -1 : y.id - x.id);

async function load() {
  const f = filters();
  try {
    const page = await api(`/api/alerts${query({ ...f, limit: PAGE })}`);
    if (f.status !== filters().status || f.kind !== filters().kind) return; // changed meanwhile
    list.alerts = new Map(page.items.map((a) => [a.id, a]));
    list.next = page.next;
    showError("");
    render();
  } catch (e) {
    failed(e);
  }
}

async function loadMore() {
  if (!list.next) return;
  try {
    const page = await api(`/api/alerts${query({ ...filters(), limit: PAGE, cursor: list.next })}`);
    for (const a of page.items) list.alerts.set(a.id, a);
    list.next = page.next;
    render();
  } catch (e) {
    failed(e);
  }
}

async function loadKinds() {
  // the kinds the API knows, from its own (public) OpenAPI document
  try {
    const doc = await (await fetch("/openapi.json")).json();
    const kinds = doc.components.schemas.AlertKind.enum;
    const select = $("kind");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "all"), ...kinds.map((k) => el("option", { value: k }, k.replaceAll("_", " "))));
    select.value = chosen;
  } catch (e) {
    console.warn("alerts: cannot read the alert kinds", e);
  }
}

/** Put an alert (as the API shows it) in the list, or take it out if the filter no
 *  longer matches it. */
function put(a, fresh) {
  if (matches(a)) {
    const older = list.alerts.get(a.id);
    if (older && older.raised_count > a.raised_count) return; // a stale message
    list.alerts.set(a.id, a);
    if (fresh) list.fresh.add(a.id);
  } else {
    list.alerts.delete(a.id);
  }
  render();
}

// -- rendering ----------------------------------------------------------------------------

function median(values) {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function counts() {
  let open = 0;
  let acked = 0;
  for (const a of unresolved.values()) {
    if (a.status === "open") open += 1;
    else if (a.status === "acknowledged") acked += 1;
  }
  $("open-count").textContent = num(open);
  $("open-count").classList.toggle("hot", open > 0);
  $("ack-count").textContent = num(acked);
}

function step(a, action, label) {
  const b = el("button", { type: "button", className: action, onclick: () => act(a, action, b) }, label);
  b.setAttribute("aria-label", `${label} alert ${a.id} (${a.kind}, ${a.subject})`);
  return b;
}

function row(a) {
  const actions = el("td", { className: "actions" });
  if (a.status === "open") actions.append(step(a, "ack", "Acknowledge"));
  if (a.status !== "resolved") actions.append(step(a, "resolve", "Resolve"));
  const tr = el(
    "tr",
    { className: a.severity, dataset: { testid: "alert-row", alert: a.id, kind: a.kind, status: a.status } },
    el("td", { className: "t", title: `last raised ${when(a.last_raised_at)}` }, when(a.raised_at)),
    el("td", {}, el("span", { className: "kind" }, a.kind.replaceAll("_", " ")), a.raised_count > 1 ? ` ×${a.raised_count}` : "", el("div", { className: "times" }, a.severity)),
    el("td", { className: "what" }, el("span", { className: "subject" }, a.subject), el("span", { className: "msg" }, a.message)),
    el("td", {}, el("span", { className: `status ${a.status}` }, a.status)),
    el("td", { className: "by", title: a.acknowledgement || "" }, a.acknowledged_by ? `${a.acknowledged_by} · ${when(a.acknowledged_at)}` : "–"),
    el("td", { className: "num tta" }, duration(a.time_to_acknowledge_s)),
    el("td", { className: "by", title: a.resolution || "" }, a.resolved_by ? `${a.resolved_by} · ${when(a.resolved_at)}` : "–"),
    el("td", { className: "num ttr" }, duration(a.time_to_resolve_s)),
    actions,
  );
  if (list.fresh.has(a.id)) tr.classList.add("fresh");
  return tr;
}

function render() {
  const shown = [...list.alerts.values()].sort(newestFirst);
  // keep the keyboard focus on the row it was on when the list is redrawn
  const focused = document.activeElement && document.activeElement.closest("#alerts-body tr");
  const focusKey = focused ? [focused.dataset.alert, document.activeElement.className] : null;
  $("alerts-body").replaceChildren(...shown.map(row));
  list.fresh.clear();
  if (focusKey) {
    const again = document.querySelector(`#alerts-body tr[data-alert="${focusKey[0]}"] button.${focusKey[1]}`)
      || document.querySelector(`#alerts-body tr[data-alert="${focusKey[0]}"] button`);
    if (again) again.focus();
  }
  $("alerts-empty").hidden = shown.length > 0;
  $("alerts-empty").textContent = "No alerts match.";
  $("more").hidden = !list.next;
  $("shown").textContent = `${num(shown.length)}${list.next ? "+" : ""} shown`;
  $("tta").textContent = duration(median(shown.map((a) => a.time_to_acknowledge_s)));
  $("ttr").textContent = duration(median(shown.map((a) => a.time_to_resolve_s)));
}

// -- steps --------------------------------------------------------------------------------

async function act(a, action, button) {
  button.disabled = true;
  const note = $("note").value.trim();
  try {
    const done = await api(`/api/alerts/${a.id}/${action}`, { method: "POST", body: note ? { note } : undefined });
    $("note").value = "";
    showError("");
    put(done, false);
  } catch (e) {
    button.disabled = false;
    failed(e);
    if (e instanceof ApiError && e.status === 409) load(); // someone else took a step: show it
  }
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function failed(e) {
  if (e instanceof ApiError) {
    if (e.status !== 401 && e.status !== 403) showError(e.detail);
  } else {
    console.warn("alerts:", e);
    showError(`The API did not answer (${e.message}).`);
  }
}

$("filters").addEventListener("submit", (ev) => ev.preventDefault());
$("status").addEventListener("change", load);
$("kind").addEventListener("change", load);
$("more").addEventListener("click", loadMore);
