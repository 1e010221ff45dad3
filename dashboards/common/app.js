// What every rfidwms page shares: the API token, authorised fetches, the top bar
// with its one navigation, and the sign-in form. A plain ES module: no build step.
//
// The token: every page file is public, everything else needs an API token (role
// operator or admin for these pages; customer for the portal). A page takes it from its URL fragment
// (#token=..., which browsers never send to a server, so it stays out of server
// logs; removed from the address bar at once) or from the sign-in form, and keeps it
// in localStorage, so one sign-in serves every page and tab of this origin until
// "Sign out". It goes to the API as "Authorization: Bearer" and to /ws/live as
// ?token= (a browser cannot set headers on a WebSocket). A refused token (HTTP
// 401/403, or the feed closed with 1008) is forgotten and asked for again.

export const TOKEN_KEY = "rfidwms.token";

// The navigation: the pages of the signed-in token's role, in order, as GET /api/me
// lists them (cloud/warehouse/roles.py: a customer gets the portal only, staff the
// pages whose routes their role may call); empty while signed out.

export const $ = (id) => document.getElementById(id);

// -- the token ---------------------------------------------------------------------

/** Keep a #token=<t> of the address (and take it out of the address bar); true when
 *  there was one. */
export function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const given = params.get("token");
  if (given === null) return false;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  if (given.trim()) localStorage.setItem(TOKEN_KEY, given.trim());
  return true;
}

export const token = () => localStorage.getItem(TOKEN_KEY);
const saveToken = (t) => localStorage.setItem(TOKEN_KEY, t);
const forgetToken = () => localStorage.removeItem(TOKEN_KEY);

// -- the API -------------------------------------------------------------------------

/** An answer of the API other than 2xx; ``detail`` is its message. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(`${detail} (HTTP ${status})`);
    this.status = status;
    this.detail = detail;
  }
}

let onRefused = null; // (status, detail) => void, set by shell()

async function detailOf(res) {
  try {
    const body = await res.json();
    const d = body.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  } catch (e) { /* not JSON */ }
  return res.statusText || `HTTP ${res.status}`;
}

/** The JSON of ``path`` (GET, or ``method`` with a JSON ``body``) with the token;
 *  ApiError otherwise. A refused token also signs the page out. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const detail = await detailOf(res);
    if ((res.status === 401 || res.status === 403) && token() && onRefused) onRefused(res.status, detail);
    throw new ApiError(res.status, detail);
  }
  return res.json();
}

/** The query string of ``params`` without its null, undefined and "" values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// -- formatting ----------------------------------------------------------------------

const pad = (n, w = 2) => String(n).padStart(w, "0");

export function clock(iso, ms = false) {
  if (!iso) return "–";
  const d = new Date(iso);
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${t}.${pad(d.getMilliseconds(), 3)}` : t;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const today = new Date();
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return d.toDateString() === today.toDateString() ? clock(iso) : `${day} ${clock(iso)}`;
}

export function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return when(iso);
}

/** A duration in seconds as "42 s", "3 min 5 s", "2 h 4 min". */
export function duration(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

export const num = (n) => Number(n).toLocaleString("en-US");

/** An element: el("td", {className: "num", dataset: {x: 1}}, "text", child, ...). */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// -- the shell: top bar, navigation, sign-in -------------------------------------------

/** The navigation's links to ``pages`` ([{path, label}]), ``current`` marked. */
function showNav(pages, current) {
  $("nav").replaceChildren(...pages.map((p) => {
    const a = el("a", { href: p.path }, p.label);
    if (p.path === current) a.setAttribute("aria-current", "page");
    return a;
  }));
}

function bar(title) {
  const nav = el("nav", { className: "nav", id: "nav", ariaLabel: "Pages" });
  return el(
    "header",
    { className: "bar" },
    el(
      "div",
      { className: "brand" },
      el("span", { className: "logo", ariaHidden: "true" }, "◧"),
      " rfidwms ",
      el("span", { className: "sep" }, "/"),
      " ",
      el("span", { id: "site" }, "site"),
      " ",
      el("span", { className: "sep" }, "/"),
      ` ${title}`,
    ),
    nav,
    el(
      "div",
      { className: "bar-right" },
      el(
        "div",
        { className: "conn", id: "conn", role: "status", ariaLive: "polite", dataset: { testid: "connection", state: "connecting" } },
        el("span", { className: "dot", ariaHidden: "true" }),
        el("span", { id: "conn-text" }, "Connecting…"),
      ),
      el("button", { type: "button", id: "signout", className: "link", hidden: true }, "Sign out"),
    ),
  );
}

function signinForm() {
  const form = el(
    "form",
    { className: "panel", id: "signin-form" },
    el("h2", { id: "signin-title" }, "Sign in"),
    el("p", { id: "signin-why", dataset: { testid: "signin-why" } }),
    el("label", { htmlFor: "token-input" }, "API token"),
    el("input", { id: "token-input", name: "token", type: "password", autocomplete: "off", spellcheck: false, required: true }),
    el("button", { type: "submit" }, "Sign in"),
    el(
      "p",
      { className: "hint" },
      el("code", {}, "rfidwms demo"),
      " prints a sign-in link and tokens; ",
      el("code", {}, "rfidwms users add --role operator NAME"),
      " makes one. The token is kept in this browser until you sign out.",
    ),
  );
  form.setAttribute("aria-labelledby", "signin-title");
  return el("div", { className: "signin", id: "signin", hidden: true, dataset: { testid: "signin" } }, form);
}

/**
 * Put the top bar and the sign-in form on the page and run it while signed in.
 *
 * ``title``: the page's name; ``current``: its path (marked in the navigation); ``what``: what the
 * token opens ("the live feed"), for the messages; ``roles``: whose token it takes
 * ("operator or admin", the default); ``start()``: called once signed
 * in (and again after each sign-in); ``stop()``: called on sign-out, to close the
 * feed and clear the view. Returns {setConn(state, text), signOut(why), refused()}.
 */
export function shell({ title, current, what, roles = "operator or admin", start, stop }) {
  const ask = `${what[0].toUpperCase()}${what.slice(1)} needs an API token of role ${roles}.`;
  document.body.prepend(bar(title), signinForm());
  document.title = `${title} · rfidwms`;

  function setConn(state, text) {
    $("conn").dataset.state = state;
    $("conn-text").textContent = text;
  }

  function askForToken(why) {
    $("signin-why").textContent = why;
    $("signin").hidden = false;
    $("signout").hidden = true;
    setConn("signed-out", "Signed out");
    $("token-input").focus();
  }

  function signOut(why) {
    forgetToken();
    showNav([], current);
    delete document.body.dataset.role;
    stop();
    askForToken(why);
  }

  function refused(status, detail) {
    signOut(status === 401
      ? `The token was refused (${detail}). Sign in with another.`
      : `This token may not open ${what} (${detail}). Sign in with a token of role ${roles}.`);
  }
  onRefused = refused;

  async function site() {
    try {
      const h = await (await fetch("/api/health")).json();
      $("site").textContent = h.site;
      document.title = `${title} · ${h.site} · rfidwms`;
    } catch (e) {
      console.warn("rfidwms: health unavailable", e);
    }
  }

  async function navigation() {
    try {
      const me = await api("/api/me");
      document.body.dataset.role = me.role;
      showNav(me.pages, current);
    } catch (e) {
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) console.warn("rfidwms: no navigation", e);
    }
  }

  function begin() {
    $("signin").hidden = true;
    $("signout").hidden = false;
    navigation();
    site();
    start();
  }

  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const given = $("token-input").value.trim();
    if (!given) return;
    $("token-input").value = "";
    saveToken(given);
    begin();
  });
  $("signout").addEventListener("click", () => signOut(`Signed out. ${ask}`));
  window.addEventListener("hashchange", () => { if (takeTokenFromFragment()) location.reload(); });

  takeTokenFromFragment();
  const ui = { setConn, signOut, refused };
  queueMicrotask(() => { if (token()) begin(); else askForToken(ask); });
  return ui;
}
