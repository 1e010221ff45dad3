// Reader fleet page: every reader (GET /api/readers: the layout's first, with their
// place and antennas) and every edge, kept live by the feed: a delta's "readers" are
// the edges' health messages (state, reads/s per antenna, last report), its "edges"
// their online/offline status; the unresolved reader_offline and edge_offline alerts
// come with the snapshot and the alert messages.
//
// Each reader's clock offset (edge clock minus reader clock, as the edge estimates it;
// the edge corrects read times beyond CORRECTED_S) and each edge's spool (batches
// waiting there for the cloud's confirmation; full: it refuses new ones) come with the
// same messages, and from GET /api/readers at the start.
//
// The sparklines are the reads/s per antenna of the health messages the page has
// heard, over the last 5 minutes (the API keeps no rate history). "Silent": nothing
// heard of the reader (or edge) for 15 s by the page's own clock (edges send health
// every 5 s), so a cloud on a simulated clock does not make every reader look late.
//
// Faults and antenna events: each reader's latest (connection lost, unreachable, refused,
// silent, LLRP errors, reader exceptions, antenna disconnected, and their recoveries:
// reconnected, speaking, antenna connected), from the snapshot's "reader_events" (the
// hub's latest, newest first) and every delta's (new ones, oldest first); shown under
// the reader, newest first, faults in red, recoveries in green, those the page heard
// in the last minute highlighted. GET /api/reader-events has them all.
//
// Commands (admin only): the form sends POST /api/edges/{edge}/commands for a reader
// (reconnect, stop or start its inventory, set an antenna's power); the list shows the
// recent commands from the snapshot and every "command" message of the feed, each with
// the edge's answer (sent, ok or error with its detail, or unanswered).

import { $, api, ago, clock, el, num, query, shell, token } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";

const UP_STATES = new Set(["connected", "inventorying"]);
const WINDOW_MS = 5 * 60 * 1000;
const SILENT_MS = 15000;
const OFFLINE_KINDS = new Set(["reader_offline", "edge_offline"]);
const MAX_READERS = 2000;
const CORRECTED_S = 2; // edge/clock_offset.py: beyond this the edge corrects read times

const readers = new Map(); // reader_id -> {reader_id, edge_id, place, state, rates, antennas, last_seen, heard}
const edges = new Map(); // edge_id -> {edge_id, state, last_seen, changed_at, heard}
const samples = new Map(); // "reader|antenna" -> [[ms, reads/s], ...]
const offline = new Map(); // alert id -> unresolved offline alert
const commands = new Map(); // command id -> the command as the API shows it, oldest first
const MAX_COMMANDS = 50;
const events = new Map(); // reader_id -> [reader event, ...], newest first
const EVENTS_KEPT = 20;
const EVENTS_SHOWN = 4;
const FRESH_MS = 60000;
const FAULTS = new Set(["unreachable", "refused", "connection_lost", "silent", "reader_exception", "llrp_error", "antenna_disconnected"]);
const KIND_TEXT = {
  unreachable: "unreachable",
  refused: "refused",
  connection_lost: "connection lost",
  reconnected: "reconnected",
  silent: "silent",
  speaking: "speaking again",
  reader_exception: "reader exception",
  llrp_error: "LLRP error",
  antenna_disconnected: "antenna disconnected",
  antenna_connected: "antenna connected",
};

const feed = new LiveFeed({
  snapshot(msg) {
    applyReaders(msg.readers || []);
    applyEdges(msg.edges || []);
    offline.clear();
    for (const a of msg.alerts || []) if (OFFLINE_KINDS.has(a.kind)) offline.set(a.id, a);
    commands.clear();
    for (const c of msg.commands || []) keepCommand(c);
    events.clear();
    keepEvents([...(msg.reader_events || [])].reverse(), null);
    render();
    renderCommands();
  },
  command(msg) {
    keepCommand(msg.command);
    renderCommands();
  },
  delta(msg) {
    if (msg.readers.length) applyReaders(msg.readers);
    if (msg.edges.length) applyEdges(msg.edges);
    const news = msg.reader_events || [];
    if (news.length) keepEvents(news, Date.now());
    if (msg.readers.length || msg.edges.length || news.length) render();
  },
  alert(msg) {
    const a = msg.alert;
    if (!OFFLINE_KINDS.has(a.kind)) return;
    if (a.status === "resolved") offline.delete(a.id);
    else offline.set(a.id, a);
    render();
  },
  seq: (n) => { $("seq").textContent = `#${n}`; },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

let ticker = null;
const ui = shell({
  title: "Fleet",
  current: "/fleet",
  what: "the fleet page",
  start() {
    loadReaders().then(() => { if (token()) feed.start(); });
    clearInterval(ticker);
    ticker = setInterval(render, 1000);
  },
  stop() {
    feed.stop();
    clearInterval(ticker);
    readers.clear();
    edges.clear();
    samples.clear();
    offline.clear();
    commands.clear();
    events.clear();
    render();
    renderCommands();
  },
});

// -- faults and antenna events ---------------------------------------------------------------

/** Keep reader events (oldest first); heard: when the page heard them (null: from the snapshot). */
function keepEvents(list, heard) {
  for (const e of list) {
    const kept = (events.get(e.reader_id) || []).filter((k) => k.id !== e.id);
    kept.unshift({ ...e, heard });
    kept.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.id - a.id));
    events.set(e.reader_id, kept.slice(0, EVENTS_KEPT));
    if (!readers.has(e.reader_id)) readers.set(e.reader_id, { reader_id: e.reader_id, edge_id: e.edge_id, place: null, antennas: [], rates: {}, heard: null });
  }
}

function eventsRow(readerId, now) {
  const list = events.get(readerId) || [];
  if (!list.length) return null;
  const items = list.slice(0, EVENTS_SHOWN).map((e) => {
    const fault = FAULTS.has(e.kind);
    const fresh = e.heard !== null && now - e.heard < FRESH_MS;
    return el("li", {
      className: `rev ${fault ? "fault" : "fine"}${fresh ? " fresh" : ""}`,
      title: `${e.kind} at ${e.time} (edge ${e.edge_id})${e.detail ? `: ${e.detail}` : ""}`,
      dataset: { testid: "reader-event", time: e.time, kind: e.kind, antenna: e.antenna === null || e.antenna === undefined ? "" : String(e.antenna), fresh: String(fresh) },
    },
    el("span", { className: "t" }, clock(e.time)), " ",
    el("b", {}, KIND_TEXT[e.kind] || e.kind),
    e.antenna ? el("span", { className: "ant" }, ` antenna ${e.antenna}`) : null,
    e.detail ? el("span", { className: "muted" }, ` · ${e.detail}`) : null);
  });
  const more = list.length > EVENTS_SHOWN ? el("li", { className: "muted" }, `+${list.length - EVENTS_SHOWN} earlier`) : null;
  return el("tr", { className: "events-row", dataset: { testid: "reader-events", reader: readerId } },
    el("td", { colSpan: 6 }, el("ul", { className: "revs", ariaLabel: `faults and antenna events of ${readerId}` }, ...items, more)));
}

// -- commands ---------------------------------------------------------------------------

function keepCommand(c) {
  commands.delete(c.id);
  commands.set(c.id, c);
  while (commands.size > MAX_COMMANDS) commands.delete(commands.keys().next().value);
}

function describe(c) {
  if (c.command === "set_power") return `set power ${c.antenna}: ${c.power_dbm} dBm`;
  return { reconnect: "reconnect", start: "start inventory", stop: "stop inventory" }[c.command] || c.command;
}

function renderCommands() {
  const body = $("commands-body");
  body.replaceChildren();
  for (const c of [...commands.values()].reverse()) {
    const result = c.status === "sent" ? "waiting for the edge…" : c.detail || c.status;
    body.append(el(
      "tr",
      { dataset: { testid: "command-row", id: c.id, status: c.status, reader: c.reader_id } },
      el("td", { className: "t", title: `by ${c.requested_by}` }, clock(c.sent_at)),
      el("td", {}, c.reader_id, el("div", { className: "muted" }, describe(c))),
      el("td", {}, el("span", { className: `result ${c.status}` }, `${c.status}`),
        el("div", { className: "muted" }, result)),
    ));
  }
  $("commands-empty").hidden = commands.size > 0;
}

function fillReaderChoice() {
  const select = $("command-reader");
  const chosen = select.value;
  const ids = [...readers.values()].filter((r) => r.edge_id).map((r) => r.reader_id).sort();
  if (ids.join() === [...select.options].map((o) => o.value).join()) return;
  select.replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
  if (ids.includes(chosen)) select.value = chosen;
}

$("command-name").addEventListener("change", () => {
  const power = $("command-name").value === "set_power";
  $("command-antenna").disabled = !power;
  $("command-power").disabled = !power;
});

$("command-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reader = readers.get($("command-reader").value);
  const problem = $("command-problem");
  if (!reader) { problem.textContent = "Choose a reader."; return; }
  const body = { reader: reader.reader_id, command: $("command-name").value };
  if (body.command === "set_power") {
    body.antenna = Number($("command-antenna").value);
    body.power_dbm = Number($("command-power").value);
  }
  problem.textContent = "Sending…";
  $("command-send").disabled = true;
  try {
    // not api(): a 403 here means "admins only", not a token to sign out
    const res = await fetch(`/api/edges/${encodeURIComponent(reader.edge_id)}/commands`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      const detail = typeof answer.detail === "string" ? answer.detail
        : Array.isArray(answer.detail) ? answer.detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ")
          : res.statusText;
      problem.textContent = res.status === 403 ? `Only an admin may send commands (${detail}).` : `Not sent: ${detail}`;
      return;
    }
    keepCommand(answer);
    renderCommands();
    problem.textContent = `Sent to ${answer.edge_id}.`;
  } catch (e) {
    problem.textContent = `Not sent: ${e.message}`;
  } finally {
    $("command-send").disabled = false;
  }
});

// -- state ------------------------------------------------------------------------------

function sample(readerId, rates, at) {
  for (const [antenna, rate] of Object.entries(rates || {})) {
    const key = `${readerId}|${antenna}`;
    const list = samples.get(key) || [];
    list.push([at, rate]);
    while (list.length && list[0][0] < at - WINDOW_MS) list.shift();
    samples.set(key, list);
  }
}

function applyReaders(statuses) {
  const now = Date.now();
  for (const s of statuses) {
    const known = readers.get(s.reader_id) || { reader_id: s.reader_id, place: null, antennas: [] };
    const antennas = new Set(known.antennas);
    for (const a of Object.keys(s.reads_per_s || {})) if (/^[0-9]+$/.test(a)) antennas.add(Number(a));
    readers.set(s.reader_id, {
      ...known,
      edge_id: s.edge_id,
      state: s.state,
      rates: s.reads_per_s || {},
      antennas: [...antennas].sort((x, y) => x - y),
      last_seen: s.last_seen,
      last_report_at: s.last_report_at,
      clock_offset_s: s.clock_offset_s ?? null,
      heard: now,
    });
    sample(s.reader_id, s.reads_per_s, now);
  }
}

function applyEdges(states) {
  const now = Date.now();
  for (const e of states) edges.set(e.edge_id, { ...e, heard: now });
}

async function loadReaders() {
  try {
    let cursor = null;
    do {
      const page = await api(`/api/readers${query({ limit: 1000, cursor })}`);
      const now = Date.now();
      for (const r of page.items) {
        const rates = Object.fromEntries(r.antennas.map((a) => [String(a.antenna), a.reads_per_s]));
        readers.set(r.reader_id, {
          reader_id: r.reader_id,
          edge_id: r.edge_id,
          place: r.place,
          state: r.state,
          rates,
          antennas: r.antennas.map((a) => a.antenna),
          last_seen: r.last_seen,
          last_report_at: r.last_report_at,
          clock_offset_s: r.clock_offset_s,
          heard: r.last_seen ? now : null,
        });
        if (r.last_seen) sample(r.reader_id, rates, now);
      }
      cursor = page.next;
    } while (cursor && readers.size < MAX_READERS);
    render();
  } catch (e) {
    console.warn("fleet: cannot load the readers", e);
  }
}

// -- rendering ----------------------------------------------------------------------------

function sparkline(key, now) {
  const list = samples.get(key) || [];
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 56 16");
  svg.setAttribute("aria-hidden", "true");
  if (list.length) {
    const max = Math.max(1, ...list.map(([, r]) => r));
    const points = list.map(([t, r]) => `${(((t - (now - WINDOW_MS)) / WINDOW_MS) * 56).toFixed(1)},${(15 - (r / max) * 14).toFixed(1)}`);
    points.push(`56,${(15 - (list[list.length - 1][1] / max) * 14).toFixed(1)}`); // held until now
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    svg.append(line);
  }
  return svg;
}

const silent = (heard, now) => heard === null || heard === undefined || now - heard > SILENT_MS;

function render() {
  const now = Date.now();
  const alerted = new Set([...offline.values()].map((a) => `${a.kind}:${a.subject}`));
  const body = $("readers-body");
  body.replaceChildren();
  let up = 0;
  let total = 0;
  const upPerEdge = new Map();
  for (const r of [...readers.values()].sort((a, b) => a.reader_id.localeCompare(b.reader_id))) {
    const quiet = silent(r.heard, now);
    const isUp = UP_STATES.has(r.state) && !quiet;
    if (isUp) up += 1;
    total += Object.values(r.rates || {}).reduce((s, x) => s + x, 0);
    const counts = upPerEdge.get(r.edge_id) || [0, 0];
    upPerEdge.set(r.edge_id, [counts[0] + (isUp ? 1 : 0), counts[1] + 1]);
    const antennas = el("div", { className: "antennas" });
    for (const a of r.antennas) {
      const rate = (r.rates || {})[String(a)] || 0;
      antennas.append(el("span", { className: "antenna", title: `antenna ${a}` }, `${a}`, sparkline(`${r.reader_id}|${a}`, now), el("b", {}, rate.toFixed(1))));
    }
    const state = el("span", { className: `state ${r.state || "unknown"}` }, r.state || "unknown");
    body.append(el(
      "tr",
      { className: isUp ? "" : "down", dataset: { testid: "reader-row", reader: r.reader_id, state: r.state || "unknown", silent: String(quiet) } },
      el("td", {}, r.reader_id, el("div", { className: "muted" }, r.edge_id || "")),
      el("td", { className: "rp" }, r.place || "–"),
      el("td", {}, state,
        quiet && r.heard ? el("span", { className: "silent" }, "silent") : null,
        alerted.has(`reader_offline:${r.reader_id}`) ? el("span", { className: "alerted" }, "alert") : null),
      el("td", { className: "num" }, Object.values(r.rates || {}).reduce((s, x) => s + x, 0).toFixed(1)),
      el("td", {}, antennas),
      el("td", { className: "t" }, ago(r.last_seen), clockOffset(r.clock_offset_s)),
    ));
    const evs = eventsRow(r.reader_id, now);
    if (evs) body.append(evs);
  }
  fillReaderChoice();
  $("readers-empty").hidden = readers.size > 0;
  $("readers-empty").textContent = "No readers.";
  $("readers-up").textContent = num(up);
  $("readers-total").textContent = num(readers.size);
  $("rate").textContent = total.toFixed(1);

  const edgeBody = $("edges-body");
  edgeBody.replaceChildren();
  let online = 0;
  const all = new Map(edges); // and the edges of the readers, until their status comes
  for (const r of readers.values()) {
    if (r.edge_id && !all.has(r.edge_id)) all.set(r.edge_id, { edge_id: r.edge_id, state: "unknown", changed_at: null, heard: null });
  }
  for (const e of [...all.values()].sort((a, b) => a.edge_id.localeCompare(b.edge_id))) {
    const quiet = silent(e.heard, now) && silent(lastHeardOfReaders(e.edge_id), now);
    if (e.state === "online" && !quiet) online += 1;
    const [u, n] = upPerEdge.get(e.edge_id) || [0, 0];
    edgeBody.append(el(
      "tr",
      { className: e.state === "online" ? "" : "down", dataset: { testid: "edge-row", edge: e.edge_id, state: e.state } },
      el("td", {}, e.edge_id),
      el("td", {}, el("span", { className: `state ${e.state}` }, e.state),
        alerted.has(`edge_offline:${e.edge_id}`) ? el("span", { className: "alerted" }, "alert") : null),
      el("td", { className: "t" }, e.changed_at ? ago(e.changed_at) : "–"),
      el("td", { className: "num" }, `${u} / ${n}`),
      spoolCell(e.spool),
    ));
  }
  $("edges-empty").hidden = all.size > 0;
  $("edges-up").textContent = num(online);
  $("edges-total").textContent = num(all.size);
  let faults = 0;
  for (const list of events.values()) for (const e of list) if (FAULTS.has(e.kind) && Date.parse(e.time) > now - 3600 * 1000) faults += 1;
  $("reader-faults").textContent = num(faults);
  $("reader-faults").classList.toggle("hot", faults > 0);
  $("offline-alerts").textContent = num(offline.size);
  $("offline-alerts").classList.toggle("hot", offline.size > 0);
}

/** "+0.3 s", marked when the edge corrects by it; nothing when not reported. */
function clockOffset(s) {
  if (s === null || s === undefined) return null;
  const text = `${s > 0 ? "+" : s < 0 ? "−" : "±"}${Math.abs(s).toFixed(Math.abs(s) < 10 ? 2 : 0)} s`;
  const big = Math.abs(s) > CORRECTED_S;
  return el("div", {
    className: `clock${big ? " off" : ""}`,
    title: big ? "edge minus reader clock; the edge corrects read times by it" : "edge minus reader clock",
    dataset: { testid: "clock-offset" },
  }, `clock ${text}`);
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** The edge's spool: batches waiting (and their size); "full" with what it refused. */
function spoolCell(spool) {
  if (!spool) return el("td", { className: "num muted", dataset: { testid: "spool" } }, "–");
  const title = `${num(spool.batches)} batches, ${bytes(spool.bytes)} of ${bytes(spool.max_bytes)}`
    + `${spool.refused_batches ? `; ${num(spool.refused_batches)} refused (lost) for a full spool` : ""}`;
  return el("td", { className: `num spool${spool.full ? " full" : ""}`, title, dataset: { testid: "spool", batches: String(spool.batches), full: String(spool.full) } },
    num(spool.batches),
    el("div", { className: "muted" }, spool.full ? `full · ${num(spool.refused_batches)} refused` : bytes(spool.bytes)));
}

function lastHeardOfReaders(edgeId) {
  let last = null;
  for (const r of readers.values()) if (r.edge_id === edgeId && r.heard && (last === null || r.heard > last)) last = r.heard;
  return last;
}
