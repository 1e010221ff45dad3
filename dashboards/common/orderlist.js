// What the orders page and the customer portal share: a list paged by the API's
// cursor and kept live by the feed, the one item chosen through the address
// (#order=SO-000123, #transfer=TR-000045), the newest detail asked for winning over
// older answers, status badges, facts and the page's error line. Plain ES module.

import { $, api, ApiError, el, query } from "/common/app.js";

export const label = (s) => s.replaceAll("_", " ");

/** A status as a badge: ``<span class="status picking">picking</span>``. */
export const statusBadge = (s, testid = "status") =>
  el("span", { className: `status ${s}`, dataset: { testid } }, label(s));

/** The page's error line (#error) shows ``e``, or hides for null. */
export function showError(e) {
  $("error").hidden = !e;
  $("error").textContent = e ? (e instanceof ApiError ? e.detail : String(e)) : "";
}

/** A value of the address's fragment (#order=...&...). */
export const fromHash = (key) => new URLSearchParams(location.hash.slice(1)).get(key);

/** Facts as a <dl>: ``[[term, value], ...]``; a pair with ``undefined`` is left out,
 *  a null value shows as "–". */
export function facts(pairs, className = "facts") {
  const dl = el("dl", { className });
  for (const [k, v] of pairs) if (v !== undefined) dl.append(el("dt", {}, k), el("dd", {}, v ?? "–"));
  return dl;
}

/** Items newest first, paged by the API's cursor, by id; at most ``most`` are kept
 *  (a page left open for days, the feed adding each new one at the top, drops the
 *  oldest rather than grow for ever). */
export class PagedList {
  constructor(most = 500) {
    this.most = most;
    this.items = new Map();
    this.next = null;
    this.gap = false; // the oldest were dropped: the next page does not follow on
  }

  clear() {
    this.items.clear();
    this.next = null;
    this.gap = false;
  }

  /** Load the first page of ``path`` with ``params`` (or the next page, ``more``);
   *  false when ``stale()`` says the answer came too late to be used. After the
   *  oldest were dropped, the next page is the first again, that many longer. */
  async load(path, params, { more = false, stale = () => false } = {}) {
    if (more && this.gap) {
      params = { ...params, limit: Math.min(1000, this.items.size + (params.limit ?? 100)) };
      more = false;
    }
    const page = await api(`${path}${query({ ...params, cursor: more ? this.next : null })}`);
    if (stale()) return false;
    if (!more) {
      this.items.clear();
      this.gap = false;
    }
    for (const x of page.items) this.items.set(x.id, x);
    this.next = page.next;
    return true;
  }

  /** What the feed says of ``x``: merged into the one held, or put first when new
   *  (``add`` false: not held and not to be shown). True when held now. */
  update(x, add = true) {
    const known = this.items.get(x.id);
    if (known) this.items.set(x.id, { ...known, ...x });
    else if (add) {
      this.items = new Map([[x.id, x], ...this.items]);
      for (const id of [...this.items.keys()].slice(this.most)) {
        this.items.delete(id);
        this.gap = true;
      }
      if (this.gap && this.next === null) this.next = "(from the first page again)"; // "Load more" stays
    } else return false;
    return true;
  }

  get values() {
    return [...this.items.values()];
  }
}

/** The answer of the latest request only: ``const ask = latest(); ... const mine =
 *  ask(); await ...; if (!mine()) return;`` (an older answer coming later is dropped). */
export function latest() {
  let n = 0;
  return () => {
    const mine = ++n;
    return () => mine === n;
  };
}

/** Flash the item of ``container`` with ``data-<key>="<id>"`` (a live change). */
export function flash(container, key, id) {
  const item = container.querySelector(`[data-${key}="${CSS.escape(id)}"]`);
  if (item) item.classList.add("fresh");
}

/** Mark the items of ``container`` whose ``data-<key>`` is ``id`` as selected. */
export function markSelected(container, key, id) {
  for (const item of container.querySelectorAll(`[data-${key}]`)) item.classList.toggle("selected", item.dataset[key] === id);
}
