// Client-side navigation. A link to a console page loads only that page's view (the server
// renders it without the shell when asked with X-Vigil-View) into #view; the shell — phone,
// screen pop, live connection — stays, so a call survives every navigation. History entries,
// deep links and the back button work as with ordinary pages.
import { $, toast } from "./dom.js";
import { t } from "./i18n.js";
import { scope } from "./scope.js";

// Paths the router handles, and the view module of each page name.
const ROUTES = [/^\/console$/, /^\/incidents\/\d+$/, /^\/subscribers\/\d+$/, /^\/tickets$/,
  /^\/reports$/, /^\/wallboard$/, /^\/agents$/, /^\/admin$/];
const VIEWS = {
  console: () => import("../views/queue.js"),
  incident: () => import("../views/incident.js"),
  subscriber: () => import("../views/subscriber.js"),
  tickets: () => import("../views/tickets.js"),
  reports: () => import("../views/reports.js"),
  wallboard: () => import("../views/wallboard.js"),
  agents: () => import("../views/agents.js"),
  admin: () => import("../views/admin.js"),
};

export const handles = (url) => url.origin === location.origin && ROUTES.some((re) => re.test(url.pathname));

export class Router {
  constructor() {
    this.current = null;   // { page, scope }
    this.loading = 0;
    this.listeners = [];
  }

  onChange(fn) { this.listeners.push(fn); }

  start() {
    // A view's forms are the view's: before its module has mounted, a submit (Enter in a
    // field) must not post the page the old-fashioned way.
    document.addEventListener("submit", (ev) => {
      if (ev.target.closest("#view:not([data-mounted])")) ev.preventDefault();
    }, true);
    document.addEventListener("click", (ev) => {
      if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      const a = ev.target.closest("a[href]");
      if (!a || a.target || a.hasAttribute("download")) return;
      const url = new URL(a.href, location.href);
      if (!handles(url)) return;
      if (url.pathname === location.pathname && url.search === location.search && url.hash) return;  // an anchor
      ev.preventDefault();
      this.go(url.pathname + url.search + url.hash);
    });
    window.addEventListener("popstate", () => this.go(location.pathname + location.search, { push: false }));
    const view = $("#view");
    return this.mount(view.dataset.view, { path: location.pathname });
  }

  // Load and show the view at ``path``.
  async go(path, { push = true } = {}) {
    const ticket = ++this.loading;
    const started = performance.now();
    document.body.dataset.navigating = "1";
    let res;
    try {
      res = await fetch(path, { credentials: "same-origin", headers: { "X-Vigil-View": "1" } });
    } catch (err) {
      toast(t("error.network"), true);
      delete document.body.dataset.navigating;
      return;
    }
    if (ticket !== this.loading) return;  // a later click won
    if (res.status === 401 || res.redirected) { location.href = path; return; }
    const text = await res.text();
    const tpl = document.createElement("template");
    tpl.innerHTML = text;
    const meta = tpl.content.querySelector("#view-meta");
    if (!meta) { location.href = path; return; }
    meta.remove();
    if (push) history.pushState({}, "", path);
    this.unmount();
    const view = $("#view");
    view.replaceChildren(tpl.content);
    view.dataset.view = meta.dataset.page;
    document.title = meta.dataset.title;
    window.scrollTo(0, 0);
    await this.mount(meta.dataset.page, { path: location.pathname });
    const url = new URL(path, location.href);
    if (url.hash) document.getElementById(url.hash.slice(1))?.scrollIntoView();
    else view.focus({ preventScroll: true });
    delete document.body.dataset.navigating;
    window.vigil.lastNavigationMs = performance.now() - started;
  }

  unmount() {
    delete $("#view").dataset.mounted;
    if (!this.current) return;
    this.current.scope.close();
    this.current = null;
  }

  async mount(page, info) {
    const view = $("#view");
    delete view.dataset.mounted;  // until the view's handlers are on, its controls wait
    document.body.dataset.page = page || "";
    for (const a of document.querySelectorAll("#nav a[data-nav]")) {
      if (a.dataset.nav === (page === "incident" ? "console" : page)) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const s = scope();
    this.current = { page, scope: s };
    const load = VIEWS[page];
    if (load) {
      const mod = await load();
      if (this.current?.scope === s) await mod.mount(view, s, info);
    }
    if (this.current?.scope === s) view.dataset.mounted = "1";
    for (const fn of this.listeners) fn(page);
  }
}

export const router = new Router();
