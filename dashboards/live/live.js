// Live reads page: a WebSocket to /ws/live (snapshot, then sequence-numbered
// deltas). On a drop it reconnects with backoff and resumes with ?since=<seq>,
// so no delta is missed; a gap or an unknown stream falls back to a snapshot.
//
// Everything but the page files needs an API token (role operator or admin). The
// page takes it from its URL fragment (#token=..., which browsers never send to the
// server, so it stays out of server logs; removed from the address bar at once) or
// from the sign-in form, and keeps it in sessionStorage (this tab only). It goes to
// /ws/live as ?token= (a browser cannot set headers on a WebSocket) and to the API
// as an Authorization: Bearer header. Until there is one the page asks for it and
// loads nothing; a refused token (HTTP 401/403, or the feed closed with 1008) is
// forgotten and asked for again.
"use strict";

(() => {
  const MAX_READS = 200;
  const MAX_MOVES = 60;
  const MAX_READERS = 2000; // readers the page loads from /api/readers
  const RATE_WINDOW_MS = 10000;
  const UP_STATES = new Set(["connected", "inventorying"]);
  const MAX_ALERTS = 50; // unresolved alerts listed, newest raised first
  const TOKEN_KEY = "rfidwms.token";
  const ASK = "The live feed needs an API token of role operator or admin.";

  const $ = (id) => document.getElementById(id);
  const feed = { seq: null, stream: null, ws: null, attempt: 0, timer: null };
  const counts = { reads: 0, window: [] }; // window: [ms, reads] per delta
  const readers = new Map(); // reader_id -> row data
  const alerts = new Map(); // id -> unresolved alert
  let tagCount = 0; // from /api/health, plus arrivals since
  let filterText = "";
  let token = null; // the API token, while signed in

  // -- the token ---------------------------------------------------------------

  function takeTokenFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const given = params.get("token");
    if (given === null) return false;
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    if (given.trim()) sessionStorage.setItem(TOKEN_KEY, given.trim());
    return true;
  }

  function askForToken(why) {
    $("signin-why").textContent = why;
    $("signin").hidden = false;
    $("signout").hidden = true;
    setConn("signed-out", "Signed out");
    $("token-input").focus();
  }

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

  function signOut(why) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(feed.timer);
    const ws = feed.ws;
    feed.ws = null;
    if (ws) ws.close(1000, "signed out");
    feed.seq = null;
    feed.stream = null;
    feed.attempt = 0;
    clearView();
    askForToken(why);
  }

  function refused(status, detail) {
    signOut(status === 401
      ? `The token was refused (${detail}). Sign in with another.`
      : `This token may not open the live feed (${detail}). Sign in with an operator's or admin's.`);
  }

  async function getJson(path) {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (res.status === 401 || res.status === 403) {
      let detail = `HTTP ${res.status}`;
      try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
      if (token) refused(res.status, detail);
      throw new Error(detail);
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  function start() {
    $("signin").hidden = true;
    $("signout").hidden = false;
    loadReaders().then(() => { if (token) connect(); });
    pollHealth();
  }

  // -- formatting ------------------------------------------------------------

  const pad = (n, w = 2) => String(n).padStart(w, "0");
  function clock(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  function ago(iso) {
    if (!iso) return "never";
    const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) return `${Math.round(s)} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    return clock(iso);
  }
  const num = (n) => n.toLocaleString("en-US");
  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  // -- connection state --------------------------------------------------------

  function setConn(state, text) {
    $("conn").dataset.state = state;
    $("conn-text").textContent = text;
  }

  function connect() {
    clearTimeout(feed.timer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ token });
    if (feed.seq !== null && feed.stream) {
      query.set("since", feed.seq);
      query.set("stream", feed.stream);
    }
    const url = `${proto}//${location.host}/ws/live?${query}`;
    setConn(feed.attempt ? "reconnecting" : "connecting", feed.attempt ? "Reconnecting…" : "Connecting…");
    const ws = new WebSocket(url);
    feed.ws = ws;
    ws.onmessage = (ev) => {
      if (feed.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { console.error("live: bad message", e); return; }
      handle(msg, ws);
    };
    ws.onclose = (ev) => {
      if (feed.ws !== ws) return;
      feed.ws = null;
      const auth = ev.code === 1008 && /^(unauthorized|forbidden): /.exec(ev.reason);
      if (auth) return refused(auth[1] === "unauthorized" ? 401 : 403, ev.reason.slice(auth[0].length));
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const delay = Math.min(30000, 500 * 2 ** feed.attempt) * (0.6 + Math.random() * 0.4);
    feed.attempt += 1;
    const until = Date.now() + delay;
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) return connect();
      setConn("reconnecting", `Disconnected · retrying in ${left} s`);
      feed.timer = setTimeout(tick, Math.min(1000, until - Date.now()));
    };
    tick();
  }

  function resnapshot(ws, why) {
    console.warn(`live: ${why}; asking for a fresh snapshot`);
    feed.seq = null;
    feed.stream = null;
    ws.close(4000, why);
  }

  function live() {
    feed.attempt = 0;
    setConn("live", "Live");
    $("seq").textContent = `#${feed.seq}`;
  }

  function handle(msg, ws) {
    switch (msg.type) {
      case "snapshot":
        feed.seq = msg.seq;
        feed.stream = msg.stream;
        renderSnapshot(msg);
        live();
        break;
      case "resumed":
        if (msg.stream !== feed.stream || msg.seq !== feed.seq) return resnapshot(ws, "resume mismatch");
        live();
        break;
      case "delta":
      case "alert": // numbered in the same sequence as the deltas
        if (msg.stream !== feed.stream) return resnapshot(ws, `${msg.type} from another stream`);
        if (msg.seq <= feed.seq) return; // already applied
        if (msg.seq !== feed.seq + 1) return resnapshot(ws, `gap: have #${feed.seq}, got #${msg.seq}`);
        feed.seq = msg.seq;
        if (msg.type === "delta") applyDelta(msg);
        else applyAlert(msg);
        $("seq").textContent = `#${feed.seq}`;
        break;
      default:
        console.warn("live: unknown message type", msg.type);
    }
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
        const page = await getJson(`/api/readers?${query}`);
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
    if (!token) return;
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

  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const given = $("token-input").value.trim();
    if (!given) return;
    $("token-input").value = "";
    token = given;
    sessionStorage.setItem(TOKEN_KEY, given);
    start();
  });
  $("signout").addEventListener("click", () => signOut(`Signed out. ${ASK}`));
  window.addEventListener("hashchange", () => { if (takeTokenFromFragment()) location.reload(); });

  setInterval(() => { updateRate(); renderReaders(); }, 1000);
  setInterval(pollHealth, 5000);
  takeTokenFromFragment();
  token = sessionStorage.getItem(TOKEN_KEY);
  if (token) start();
  else askForToken(ASK);
})();
