// A transfer between sites on the orders page: its timeline (made → its order at the
// source picked, packed, loading → each pallet out through the source's door → in
// transit, expected at → each pallet in through a door of the destination, with what
// was short or over → received; found late), its lines as sent and received, and the
// door passages that received it. Its pick route, weight checks and the passages
// that shipped it are its order's at the source (GET /api/orders/{order_id}), drawn
// by the orders page as for any order.

import { el, num, when } from "/common/app.js";
import { facts, label, statusBadge } from "/common/orderlist.js";

export const TRANSFER_STATUSES = ["open", "in_transit", "received", "cancelled"];

const passageOf = (cause) => (cause && cause.startsWith("passage:") ? `passage ${cause.slice(8)}` : cause);

/** The steps of transfer ``t`` (GET /api/transfers/{id}) with those of its order at
 *  the source ``o`` (null when it could not be read), oldest first: {time, event,
 *  text, alert, expected}. An arrival still awaited is the last step, "expected". */
export function transferTimeline(t, o) {
  const steps = [{ time: t.created_at, event: "open", text: `asked by ${t.requested_by}: ${t.from_site} → ${t.to_site}` }];
  for (const e of (o ? o.timeline : [])) {
    if (e.event === "received" || e.event === "shipped") continue; // the transfer's own steps say it
    const d = e.detail || {};
    const where = e.event === "pallet_shipped" ? ` ${d.pallet ?? "?"} out through ${d.door ?? "?"}` : "";
    steps.push({ time: e.time, event: e.event, text: `at ${t.from_site}: ${label(e.event)}${where}`, alert: e.status === "on_hold" });
  }
  if (t.shipped_at) {
    steps.push({ time: t.shipped_at, event: "in_transit", text: `shipped from ${t.from_site}: in transit, ${t.transit_min} min on the road, expected at ${t.to_site} ${when(t.expected_at)}` });
  }
  for (const p of t.pallets || []) {
    if (!p.arrived_at) continue;
    const bits = [`${num(p.received)} of ${num(p.cases)} cases`];
    if (p.missing_cases.length) bits.push(`${p.missing_cases.length} short`);
    if (p.extra_cases.length) bits.push(`${p.extra_cases.length} over (not booked)`);
    steps.push({
      time: p.arrived_at, event: "pallet_arrived",
      text: `at ${t.to_site}: pallet ${p.sscc} in through ${p.arrival_door}${p.arrival_cause ? ` (${passageOf(p.arrival_cause)})` : ""}: ${bits.join(", ")}`,
      alert: p.missing_cases.length > 0 || p.extra_cases.length > 0,
    });
  }
  if (t.late_at) steps.push({ time: t.late_at, event: "late", text: `late: not all come by ${when(t.expected_at)}`, alert: true });
  if (t.received_at) steps.push({ time: t.received_at, event: "received", text: `received at ${t.to_site}: every pallet that left has come` });
  if (t.cancelled_at) steps.push({ time: t.cancelled_at, event: "cancelled", text: `cancelled by ${t.cancelled_by ?? "?"}: its stock is free again at ${t.from_site}` });
  steps.sort((a, b) => new Date(a.time) - new Date(b.time));
  if (t.status === "in_transit" && t.expected_at) {
    steps.push({ time: t.expected_at, event: "expected", text: `expected at ${t.to_site}`, expected: true });
  }
  return steps;
}

const OUTCOME = {
  short: "short: a pallet came without cases that left on it (they stay in transit in the books)",
  over: "over: a pallet came with cases that had not left on it (not booked)",
  late: "late: not every pallet had come by the expected arrival and its grace",
};

export const outcomeBadges = (t) => t.outcomes.map((x) => statusBadge(x, "outcome"));

function timeline(t, o) {
  return el("ol", { className: "timeline", dataset: { testid: "timeline" } },
    ...transferTimeline(t, o).map((s) => el("li", { className: [s.alert ? "alert" : "", s.expected ? "expected" : ""].join(" ").trim(), dataset: { event: s.event } },
      el("span", { className: "t" }, when(s.time)), s.text)));
}

function lines(t) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...["Line", "Item (GTIN)", "Asked", "Reserved", "Picked", "Sent", "Received", "Missing"]
      .map((h, i) => el("th", { className: i > 1 ? "num" : "" }, h)))),
    el("tbody", {}, ...t.lines.map((l) => el("tr", {},
      el("td", {}, String(l.line)), el("td", { className: "mono" }, l.sku),
      ...[l.qty, l.allocated, l.picked, l.shipped, l.received, l.missing].map((n) => el("td", { className: "num" }, num(n)))))));
}

function received(t) {
  const came = (t.pallets || []).filter((p) => p.arrived_at);
  const waiting = (t.pallets || []).filter((p) => !p.arrived_at);
  const items = [
    ...came.map((p) => el("li", { dataset: { pallet: p.sscc } },
      `${when(p.arrived_at)}: pallet ${p.sscc} in through ${p.arrival_door} at ${t.to_site}`,
      p.arrival_cause ? ` (${passageOf(p.arrival_cause)})` : "",
      p.missing_cases.length ? el("span", { className: "why" }, `short: ${p.missing_cases.join(", ")}`) : null,
      p.extra_cases.length ? el("span", { className: "why" }, `over: ${p.extra_cases.join(", ")}`) : null)),
    ...waiting.map((p) => el("li", { className: "muted", dataset: { pallet: p.sscc } },
      `pallet ${p.sscc}: left through ${p.door} ${when(p.dispatched_at)}, not come yet`)),
  ];
  if (!items.length) return el("p", { className: "empty", dataset: { testid: "received-by" } }, "Nothing of this transfer has left its source yet.");
  return el("ul", { dataset: { testid: "received-by" } }, ...items);
}

/** The detail of transfer ``t``; ``o``: its order at the source (or null), ``order``:
 *  the orders page's sections of that order ({route, weights, passages}). */
export function transferDetail(t, o, order) {
  const alerts = t.outcomes.length
    ? el("ul", { dataset: { testid: "outcomes" } }, ...t.outcomes.map((x) => el("li", { className: "weight mismatch", dataset: { outcome: x } }, OUTCOME[x] || x)))
    : el("p", { className: "empty", dataset: { testid: "outcomes" } }, "None: nothing short, over or late.");
  const section = (title, ...children) => el("section", {}, el("h3", {}, title), ...children);
  return [
    el("div", { dataset: { transfer: t.id, status: t.status } },
      facts([
        ["Transfer", el("span", { className: "mono", dataset: { testid: "detail-id" } }, t.id)],
        ["From → to", `${t.from_site} → ${t.to_site}`],
        ["Status", el("span", {}, statusBadge(t.status), " ", ...outcomeBadges(t))],
        ["Its order", el("a", { href: `#order=${encodeURIComponent(t.order_id)}`, className: "mono" }, t.order_id)],
        ["Order status", statusBadge(t.order_status, "order-status")],
        ["Asked by", t.requested_by],
        ["Taken", when(t.created_at)],
        ["Shipped", when(t.shipped_at)],
        ["Expected", when(t.expected_at)],
        ["Received", when(t.received_at)],
      ])),
    section("Timeline", timeline(t, o)),
    section("Lines", lines(t)),
    section("Short, over, late", alerts),
    section("Pick route at the source", o ? order.route(o) : el("p", { className: "empty" }, "Its order cannot be read.")),
    section("Weight checks", o ? order.weights(o) : null),
    section("Door passages that shipped it", o ? order.passages(o) : null),
    section("Door passages that received it", received(t)),
  ];
}
