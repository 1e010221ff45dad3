// Live reads page: the reads, tag moves, readers and unresolved alerts of the live
// feed (/ws/live), through the shared LiveFeed (snapshot, then sequence-numbered
// deltas; on a drop it reconnects with backoff and resumes with ?since=<seq>, so no
// delta is missed; a gap or an unknown stream falls back to a snapshot).
//
// The token, the top bar and sign-in are the shared shell's (/common/app.js): the
// page loads nothing until signed in, and a refused token is forgotten and asked
// for again.

import { $, api, clock as hms, ago, num, shell, token } from "/common/app.js";
import { LiveFeed } from "/common/feed.js";

const MAX_READS = 200;
const MAX_MOVES = 60;
const MAX_READERS = 2000; // readers the page loads from /api/readers
const RATE_WINDOW_MS = 10000;
const UP_STATES = new Set(["connected", "inventorying"]);
const MAX_ALERTS = 50; // unresolved alerts listed, newest raised first

const counts = { reads: 0, window: [] }; // window: [ms, reads] per delta
const readers = new Map(); // reader_id -> row data
const alerts = new Map(); // id -> unresolved alert
let tagCount = 0; // from /api/health, plus arrivals since
let filterText = "";

const clock = (iso) => hms(iso, true);
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

const feed = new LiveFeed({
  snapshot: renderSnapshot,
  delta: applyDelta,
  alert: applyAlert,
  seq: (n) => { $("seq").textContent = `#${n}`; },
  state: (state, text) => ui.setConn(state, text),
  refused: (status, detail) => ui.refused(status, detail),
});

const ui = shell({
  title: "Live reads",
  current: "/",
  what: "the live feed",
  start() {
    loadReaders().then(() => { if (token()) feed.start(); });
    pollHealth();
  },
  stop() {
    feed.stop();
    clearView();
  },
});

function clearView() {
  $("reads-body").replaceChildren();
  $("reads-empty").hidden = false;
  $("moves").replaceChildren();
  $("moves-empty").hidden = false;
  readers.clear();
  renderReaders();
  counts.reads = 0;
  counts.window = [];
  $("read-count").textContent = "0";
  $("seq").textContent = "–";
}

// -- reads -------------------------------------------------------------------

function readRow(r, fresh) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "read-row";
  tr.dataset.epc = r.epc;
  tr.dataset.key = `${r.epc} ${r.read_point} ${r.reader_id}`.toLowerCase();
  if (fresh) tr.className = "fresh";
  tr.append(
    cell(clock(r.time), "t"),
    cell(r.epc, "epc"),
    cell(r.read_point, "rp"),
    cell(`${r.reader_id} · ${r.antenna}`),
  );
  const rssi = cell("", "num");
  if (r.rssi_dbm !== null && r.rssi_dbm !== undefined) {
    const bar = document.createElement("span");
    bar.className = "rssi";
    const fill = document.createElement("i");
    fill.style.width = `${Math.max(0, Math.min(100, ((r.rssi_dbm + 90) / 60) * 100))}%`;
    bar.append(fill);
    rssi.append(bar, document.createTextNode(r.rssi_dbm.toFixed(1)));
  } else {
    rssi.textContent = "–";
  }
  tr.append(rssi, cell(num(r.seen_count), "num"));
  tr.hidden = filterText !== "" && !tr.dataset.key.includes(filterText);
  return tr;
}

function addReads(reads, fresh) {
  const body = $("reads-body");
  const frag = document.createDocumentFragment();
  for (const r of reads.slice(0, MAX_READS)) frag.append(readRow(r, fresh));
  body.prepend(frag);
  while (body.rows.length > MAX_READS) body.deleteRow(-1);
  $("reads-empty").hidden = body.rows.length > 0;
}

function countReads(n) {
  counts.reads += n;
  counts.window.push([Date.now(), n]);
  $("read-count").textContent = num(counts.reads);
  updateRate();
}

function updateRate() {
  const cutoff = Date.now() - RATE_WINDOW_MS;
  while (counts.window.length && counts.window[0][0] < cutoff) counts.window.shift();
  const total = counts.window.reduce((s, [, n]) => s + n, 0);
  $("read-rate").textContent = (total / (RATE_WINDOW_MS / 1000)).toFixed(1);
}

// -- moves -------------------------------------------------------------------

function addMoves(moves) {
  const arrivals = moves.filter((m) => !m.from_read_point).length;
  if (arrivals) {
    tagCount += arrivals;
    $("tag-count").textContent = num(tagCount);
  }
  const list = $("moves");
  for (const m of moves) {
    const li = document.createElement("li");
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = clock(m.at);
    const epc = document.createElement("span");
    epc.className = "epc";
    epc.textContent = m.epc;
    const path = document.createElement("span");
    path.className = "path";
    const to = document.createElement("b");
    to.textContent = m.to_read_point;
    path.append(document.createTextNode(m.from_read_point ? `${m.from_read_point} → ` : "arrived at "), to);
    li.append(t, epc, path);
    list.prepend(li);
  }
  while (list.children.length > MAX_MOVES) list.lastElementChild.remove();
  $("moves-empty").hidden = list.children.length > 0;
}

// -- readers -----------------------------------------------------------------

function updateReaders(statuses) {
  for (const s of statuses) {
    const known = readers.get(s.reader_id) || { reader_id: s.reader_id, place: null };
    const rates = Object.values(s.reads_per_s || {});
    readers.set(s.reader_id, {
      ...known,
      state: s.state,
      last_seen: s.last_seen,
      reads_per_s: rates.reduce((a, b) => a + b, 0),
    });
  }
  renderReaders();
}

function renderReaders() {
  const body = $("readers-body");
  body.replaceChildren();
  let up = 0;
  for (const r of [...readers.values()].sort((a, b) => a.reader_id.localeCompare(b.reader_id))) {
    if (UP_STATES.has(r.state)) up += 1;
    const tr = document.createElement("tr");
    tr.dataset.reader = r.reader_id;
    const state = document.createElement("span");
    state.className = `state ${r.state || "unknown"}`;
    state.textContent = r.state || "unknown";
    const stateCell = cell("");
    stateCell.append(state);
    tr.append(
      cell(r.reader_id),
      cell(r.place || "–", "rp"),
      stateCell,
      cell((r.reads_per_s || 0).toFixed(1), "num"),
      cell(ago(r.last_seen), "t"),
    );
    body.append(tr);
  }
  $("readers-up").textContent = up;
  $("readers-total").textContent = readers.size;
}

// -- alerts ------------------------------------------------------------------

function applyAlert(msg) {
  const a = msg.alert;
  if (a.status === "resolved") alerts.delete(a.id);
  else alerts.set(a.id, { ...a, fresh: true });
  renderAlerts();
}

function renderAlerts() {
  const list = $("alerts");
  const shown = [...alerts.values()]
    .sort((x, y) => (x.raised_at < y.raised_at ? 1 : x.raised_at > y.raised_at ? -1 : y.id - x.id))
    .slice(0, MAX_ALERTS);
  list.replaceChildren();
  for (const a of shown) {
    const li = document.createElement("li");
    li.dataset.alert = a.id;
    li.dataset.kind = a.kind;
    li.className = `${a.severity}${a.fresh ? " fresh" : ""}`;
    a.fresh = false;
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = clock(a.raised_at);
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = a.raised_count > 1 ? `${a.kind} ×${a.raised_count}` : a.kind;
    const status = document.createElement("span");
    status.className = "status";
    status.textContent = a.status === "acknowledged" ? `ack · ${a.acknowledged_by}` : a.status;
    const text = document.createElement("span");
    text.className = "msg";
    text.textContent = a.message;
    li.append(t, kind, status, text);
    list.append(li);
  }
  const count = $("alert-count");
  count.textContent = alerts.size;
  count.classList.toggle("hot", [...alerts.values()].some((a) => a.status === "open"));
  $("alerts-empty").hidden = alerts.size > 0;
}

// -- messages ----------------------------------------------------------------

function renderSnapshot(msg) {
  $("reads-body").replaceChildren();
  addReads(msg.reads, false);
  $("moves").replaceChildren();
  $("moves-empty").hidden = false;
  updateReaders(msg.readers);
  alerts.clear();
  for (const a of msg.alerts || []) alerts.set(a.id, a);
  renderAlerts();
}

function applyDelta(msg) {
  if (msg.reads.length) addReads(msg.reads, true);
  if (msg.read_count) countReads(msg.read_count);
  if (msg.moves.length) addMoves(msg.moves);
  if (msg.readers.length) updateReaders(msg.readers);
}

// -- REST: site, layout readers, tag count -----------------------------------

async function loadReaders() {
  // pages of {items, next}: layout readers come first, so the first pages hold them
  try {
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: "1000" });
      if (cursor) query.set("cursor", cursor);
      const page = await api(`/api/readers?${query}`);
      for (const r of page.items) {
        const known = readers.get(r.reader_id) || {};
        readers.set(r.reader_id, {
          reader_id: r.reader_id,
          place: r.place,
          state: known.state || r.state,
          last_seen: known.last_seen || r.last_seen,
          reads_per_s: known.reads_per_s ?? r.reads_per_s,
        });
      }
      cursor = page.next;
    } while (cursor && readers.size < MAX_READERS);
    renderReaders();
  } catch (e) {
    console.warn("live: cannot load readers", e);
  }
}

async function pollHealth() {
  if (!token()) return;
  try {
    const res = await fetch("/api/health");
    const h = await res.json();
    $("site").textContent = h.site;
    document.title = `Live reads · ${h.site} · rfidwms`;
    if (h.counts) {
      tagCount = h.counts.tags;
      $("tag-count").textContent = num(tagCount);
    }
  } catch (e) {
    console.warn("live: health unavailable", e);
  }
}

$("filter").addEventListener("input", (ev) => {
  filterText = ev.target.value.trim().toLowerCase();
  for (const tr of $("reads-body").rows) {
    tr.hidden = filterText !== "" && !tr.dataset.key.includes(filterText);
  }
});

setInterval(() => { updateRate(); renderReaders(); }, 1000);
setInterval(pollHealth, 5000);
