// The live feed (/ws/live) for every page: a snapshot, then sequence-numbered
// messages ("delta", "alert", "command", "order" and "transfer", one sequence; a customer's token gets its
// own orders' "order" messages only, in a sequence of its own). On a drop it reconnects with backoff
// (0.5 s doubling to 30 s, jittered) and resumes with ?since=<seq>&stream=<stream>,
// so no message is missed; when the server cannot resume (the hub restarted, or the
// page fell too far behind) it sends a fresh snapshot instead, and a gap or a message
// of another stream makes the page ask for one. See docs/cloud.md.

import { token } from "/common/app.js";

export class LiveFeed {
  /**
   * Handlers (all optional): snapshot(msg) for a snapshot (on connect, and whenever
   * the page must start over: it replaces what the page holds), resumed(msg) after a
   * resume without loss, delta(msg), alert(msg), command(msg), order(msg), transfer(msg), seq(n) after each
   * message applied,
   * state(state, text) for the connection ("connecting", "live", "reconnecting"),
   * refused(status, detail) when the token is refused (1008).
   */
  constructor(handlers) {
    this.on = handlers;
    this.seq = null;
    this.stream = null;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
  }

  start() {
    this.stop();
    this.connect();
  }

  /** Close the feed and forget the position (the next start gets a snapshot). */
  stop() {
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "stopped");
    this.seq = null;
    this.stream = null;
    this.attempt = 0;
  }

  _state(state, text) {
    if (this.on.state) this.on.state(state, text);
  }

  connect() {
    clearTimeout(this.timer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams({ token: token() || "" });
    if (this.seq !== null && this.stream) {
      q.set("since", this.seq);
      q.set("stream", this.stream);
    }
    this._state(this.attempt ? "reconnecting" : "connecting", this.attempt ? "Reconnecting…" : "Connecting…");
    const ws = new WebSocket(`${proto}//${location.host}/ws/live?${q}`);
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { console.error("live: bad message", e); return; }
      this._handle(msg, ws);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const auth = ev.code === 1008 && /^(unauthorized|forbidden): /.exec(ev.reason);
      if (auth) {
        if (this.on.refused) this.on.refused(auth[1] === "unauthorized" ? 401 : 403, ev.reason.slice(auth[0].length));
        return;
      }
      this._retry();
    };
  }

  _retry() {
    const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.6 + Math.random() * 0.4);
    this.attempt += 1;
    const until = Date.now() + delay;
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) return this.connect();
      this._state("reconnecting", `Disconnected · retrying in ${left} s`);
      this.timer = setTimeout(tick, Math.min(1000, until - Date.now()));
    };
    tick();
  }

  _resnapshot(ws, why) {
    console.warn(`live: ${why}; asking for a fresh snapshot`);
    this.seq = null;
    this.stream = null;
    ws.close(4000, why); // onclose reconnects without ?since=
  }

  _live() {
    this.attempt = 0;
    this._state("live", "Live");
    if (this.on.seq) this.on.seq(this.seq);
  }

  _handle(msg, ws) {
    switch (msg.type) {
      case "snapshot":
        this.seq = msg.seq;
        this.stream = msg.stream;
        if (this.on.snapshot) this.on.snapshot(msg);
        this._live();
        break;
      case "resumed":
        if (msg.stream !== this.stream || msg.seq !== this.seq) return this._resnapshot(ws, "resume mismatch");
        if (this.on.resumed) this.on.resumed(msg);
        this._live();
        break;
      case "delta":
      case "alert": // numbered in the same sequence as the deltas
      case "command":
      case "order":
      case "transfer": // staff only
        if (msg.stream !== this.stream) return this._resnapshot(ws, `${msg.type} from another stream`);
        if (msg.seq <= this.seq) return; // already applied
        if (msg.seq !== this.seq + 1) return this._resnapshot(ws, `gap: have #${this.seq}, got #${msg.seq}`);
        this.seq = msg.seq;
        if (msg.type === "delta" && this.on.delta) this.on.delta(msg);
        if (msg.type === "alert" && this.on.alert) this.on.alert(msg);
        if (msg.type === "command" && this.on.command) this.on.command(msg);
        if (msg.type === "order" && this.on.order) this.on.order(msg);
        if (msg.type === "transfer" && this.on.transfer) this.on.transfer(msg);
        if (this.on.seq) this.on.seq(this.seq);
        break;
      default:
        console.warn("live: unknown message type", msg.type);
    }
  }
}
