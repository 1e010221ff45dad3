// KPI page: every KPI of GET /api/kpis as a chart over time, per site. The figures are
// GET /api/kpis/series (each KPI for each day or hour of the span, with its definition);
// the sites are GET /api/sites. Charts are SVG drawn here: a line through the periods
// where the KPI is defined (a gap where it is not: nothing to divide by), a dot per
// period with its figures in a tooltip, the axis from 0 (0–100 for a %).

import { $, api, ApiError, el, num, query, shell, when } from "/common/app.js";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 5 * 60 * 1000;
const W = 320; // the drawing's own units; the SVG scales to its card
const H = 140;
const PAD = { left: 34, right: 8, top: 8, bottom: 20 };
const TITLES = {
  inventory_turnover: "Inventory turnover",
  days_of_supply: "Days of supply",
  stockout_rate: "Stockout rate",
  fill_rate: "Fill rate",
  on_time_shipment: "On-time shipment",
  mis_shipment_rate: "Mis-shipment rate",
  inventory_record_accuracy: "Inventory record accuracy",
  dock_to_stock_time: "Dock-to-stock time",
  order_cycle_time: "Order cycle time",
  alert_response_time: "Alert response time",
};
const SITE_KEY = "rfidwms.kpis.site";
const RANGE_KEY = "rfidwms.kpis.range";

let timer = null;
let loading = 0; // the number of the latest load: an older answer is dropped

const ui = shell({
  title: "KPIs",
  current: "/kpis",
  what: "the KPI page",
  async start() {
    await loadSites();
    load();
    clearInterval(timer);
    timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  },
  stop() {
    clearInterval(timer);
    $("charts").replaceChildren(el("p", { className: "empty" }, "Signed out."));
  },
});

// -- the span asked for ---------------------------------------------------------------

/** {step, from, to} of the range chosen: whole UTC days (or hours) up to now. */
function span() {
  const [step, count] = $("range").value.split(":");
  const to = new Date();
  const from = new Date(to);
  if (step === "day") {
    from.setUTCHours(0, 0, 0, 0);
    from.setUTCDate(from.getUTCDate() - (Number(count) - 1));
  } else {
    from.setUTCMinutes(0, 0, 0);
    from.setUTCHours(from.getUTCHours() - (Number(count) - 1));
  }
  return { step, from: from.toISOString(), to: to.toISOString() };
}

async function loadSites() {
  try {
    const sites = await api("/api/sites");
    const select = $("site-select");
    select.replaceChildren(el("option", { value: "" }, "all sites"));
    for (const s of sites.items) select.append(el("option", { value: s.id }, `${s.id} · ${s.name}`));
    const kept = localStorage.getItem(SITE_KEY);
    select.value = kept !== null && [...select.options].some((o) => o.value === kept) ? kept : (sites.items[0]?.id ?? "");
    ui.setConn("live", "Up to date");
  } catch (e) {
    failed(e);
  }
}

async function load() {
  const mine = ++loading;
  const s = span();
  const site = $("site-select").value;
  $("span-text").textContent = `${when(s.from)} – ${when(s.to)}`;
  try {
    const series = await api(`/api/kpis/series${query({ site, ...s })}`);
    if (mine !== loading) return;
    $("kpi-error").hidden = true;
    draw(series);
    ui.setConn("live", `Updated ${when(new Date().toISOString())}`);
  } catch (e) {
    if (mine === loading) failed(e);
  }
}

function failed(e) {
  if (e instanceof ApiError) {
    if (e.status === 401 || e.status === 403) return; // the shell asks for a token
    $("kpi-error").textContent = e.detail;
  } else {
    console.warn("kpis:", e);
    $("kpi-error").textContent = `The API did not answer (${e.message}).`;
    ui.setConn("offline", "API unreachable");
  }
  $("kpi-error").hidden = false;
}

// -- the charts -----------------------------------------------------------------------

const svg = (tag, attrs = {}, ...children) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
};

/** A figure as the page writes it: at most 3 significant decimals. */
function figure(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  return a >= 100 ? num(Math.round(v)) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function tick(iso, step) {
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return step === "day" ? `${p(d.getMonth() + 1)}-${p(d.getDate())}` : `${p(d.getHours())}:00`;
}

function chart(kpi, step) {
  const pts = kpi.points;
  const values = pts.map((p) => p.value).filter((v) => v !== null);
  const top = kpi.unit === "%" ? 100 : Math.max(...values, 0) * 1.1 || 1;
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (pts.length === 1 ? iw / 2 : (i * iw) / (pts.length - 1));
  const y = (v) => PAD.top + ih - (v / top) * ih;
  const title = `${TITLES[kpi.name] || kpi.name} by ${step}`;
  const out = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  for (const v of [0, top / 2, top]) {
    out.append(svg("line", { class: v ? "grid-line" : "axis", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    const label = svg("text", { x: PAD.left - 4, y: y(v) + 3, "text-anchor": "end" });
    label.textContent = figure(v);
    out.append(label);
  }
  for (const i of [0, pts.length - 1]) {
    const label = svg("text", { x: x(i), y: H - 5, "text-anchor": i ? "end" : "start" });
    label.textContent = tick(pts[i].from, step);
    out.append(label);
  }
  if (!values.length) {
    const none = svg("text", { class: "nodata", x: PAD.left + iw / 2, y: PAD.top + ih / 2, "text-anchor": "middle" });
    none.textContent = "not defined in any period";
    out.append(none);
    return out;
  }
  // one line per run of defined periods
  let run = [];
  const runs = [run];
  pts.forEach((p, i) => {
    if (p.value === null) { if (run.length) runs.push((run = [])); } else run.push([x(i), y(p.value)]);
  });
  for (const r of runs.filter((r) => r.length)) {
    const d = r.map(([px, py], k) => `${k ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
    out.append(svg("path", { class: "area", d: `${d} L${r[r.length - 1][0].toFixed(1)},${y(0)} L${r[0][0].toFixed(1)},${y(0)} Z` }));
    out.append(svg("path", { class: "line", d }));
  }
  pts.forEach((p, i) => {
    if (p.value === null) return;
    const dot = svg("circle", { class: i === pts.length - 1 ? "point last" : "point", cx: x(i), cy: y(p.value), r: 2.5, "data-value": String(p.value), "data-from": p.from });
    const tip = svg("title");
    tip.textContent = `${when(p.from)}: ${figure(p.value)} ${kpi.unit} (${figure(p.numerator)} / ${figure(p.denominator)})`;
    dot.append(tip);
    out.append(dot);
  });
  return out;
}

function card(kpi, step) {
  const last = [...kpi.points].reverse().find((p) => p.value !== null);
  const id = `kpi-${kpi.name}`;
  return el(
    "section",
    { className: "panel chart-card", dataset: { testid: "kpi-chart", kpi: kpi.name } },
    el("h2", { id }, TITLES[kpi.name] || kpi.name),
    el(
      "div",
      { className: "latest" },
      el("span", { className: "value" }, last ? figure(last.value) : "–"),
      el("span", { className: "unit" }, kpi.unit),
      last ? el("span", { className: "ratio" }, `${figure(last.numerator)} / ${figure(last.denominator)} · ${when(last.from)}`) : null,
    ),
    el("p", { className: "definition" }, kpi.definition),
    chart(kpi, step),
  );
}

function draw(series) {
  const cards = series.kpis.map((k) => card(k, series.step));
  for (const c of cards) c.setAttribute("aria-labelledby", `kpi-${c.dataset.kpi}`);
  $("charts").replaceChildren(...cards);
}

$("site-select").addEventListener("change", () => { localStorage.setItem(SITE_KEY, $("site-select").value); load(); });
$("range").value = localStorage.getItem(RANGE_KEY) || "day:30";
if (!$("range").value) $("range").value = "day:30";
$("range").addEventListener("change", () => { localStorage.setItem(RANGE_KEY, $("range").value); load(); });
$("refresh").addEventListener("click", load);
