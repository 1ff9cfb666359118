// The console's live layer: one websocket per page (/ws), snapshots from the REST API, and the
// renderers of each page. Written as a plain module (no build step); vendor libraries are bundled
// separately by build_static.mjs.

const boot = JSON.parse(document.getElementById("boot").textContent);
const S = boot.strings || {};
const t = (key) => S[key] ?? key;
const me = boot.user || {};
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const $ = (sel) => document.querySelector(sel);
const PAGE = document.body.dataset.page;

// ---- REST -------------------------------------------------------------------------------------

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (init.body && typeof init.body !== "string") {
    init.body = JSON.stringify(init.body);
    init.headers["Content-Type"] = "application/json";
  }
  if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    return { ok: false, status: 0, data: null, missing: false };
  }
  let data = null;
  try { data = await res.json(); } catch (err) { data = null; }
  // FastAPI answers an unknown route with exactly {"detail": "Not Found"}: the backing API
  // has not landed yet (as opposed to a record that does not exist).
  const missing = (res.status === 404 && data && data.detail === "Not Found") || res.status === 405;
  return { ok: res.ok, status: res.status, data, missing };
}

const itemsOf = (data) => (Array.isArray(data) ? data : (data && (data.items || data.results)) || []);

// ---- formatting -------------------------------------------------------------------------------

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

function timeOf(value, fallback) {
  if (typeof value === "number") return value > 1e12 ? value : value * 1000;
  const parsed = Date.parse(value || "");
  return Number.isFinite(parsed) ? parsed : fallback;
}

// ---- incidents (every page: the top bar counts them, the console and wallboard show them) ------

// Seconds a waiting incident may age before it shows as late, by priority (1 = most urgent).
const TARGET = { 1: 30, 2: 60, 3: 120, 4: 300 };
const KIND_PRIORITY = { fire: 1, panic: 1, duress: 1, medical: 1, burglary: 2, tamper: 2,
  trouble: 3, ac_loss: 3, supervisory: 4, unknown_account: 4, test: 6 };

// A catalogue name when there is one, else the code made readable.
function named(prefix, code) {
  const key = `${prefix}.${code}`;
  return t(key) === key ? String(code).replaceAll("_", " ") : t(key);
}

function zonesText(zones) {
  if (!zones) return "";
  if (Array.isArray(zones)) {
    return zones.map((z) => (typeof z === "object" ? [z.number, z.name].filter(Boolean).join(" ") : z)).join(", ");
  }
  if (typeof zones === "object") {
    return Object.entries(zones).map(([zone, info]) => {
      const restored = info && info.state === "restored" ? ` (${t("zone.restored")})` : "";
      return `${zone}${restored}`;
    }).join(", ");
  }
  return String(zones);
}

function normIncident(raw, ts) {
  const inc = raw.incident && typeof raw.incident === "object" ? raw.incident : raw;
  const id = inc.id ?? inc.incident_id;
  if (id === undefined || id === null) return null;
  const kind = String(inc.kind ?? inc.event_class ?? "other");
  const account = inc.account && typeof inc.account === "object" ? inc.account : {};
  let priority = Number(inc.priority ?? KIND_PRIORITY[kind] ?? 3);
  if (!Number.isFinite(priority)) priority = 3;
  priority = Math.min(Math.max(Math.round(priority), 1), 7);
  const number = inc.account_number ?? account.number ?? "";
  const name = inc.account_name ?? account.name ?? "";
  return {
    id: String(id),
    priority,
    cls: kind,
    eventClass: String(inc.event_class ?? ""),
    label: inc.description ?? inc.event_description ?? inc.title ?? "",
    account: [number, name].filter((v) => String(v).trim()).join(" · ") || String(inc.account_id ?? ""),
    zone: zonesText(inc.zones ?? inc.zone),
    status: String(inc.status ?? inc.state ?? "new"),
    takenBy: inc.taken_by_name ?? inc.taken_by ?? "",
    duress: Boolean(inc.duress),
    opened: timeOf(inc.opened_at ?? inc.first_signal_at ?? inc.received_at ?? inc.created_at, ts),
    target: Number(inc.target_seconds ?? TARGET[priority] ?? 300),
  };
}

const CLOSED = new Set(["closed", "resolved", "cancelled_closed"]);

class IncidentStore {
  constructor() { this.items = new Map(); this.listeners = []; this.available = true; }
  onChange(fn) { this.listeners.push(fn); }
  changed(detail) { for (const fn of this.listeners) fn(detail); }

  apply(topic, data, ts) {
    const inc = normIncident(data, ts);
    if (!inc) return;
    const gone = topic === "incident.closed" || topic === "incident.deleted" || CLOSED.has(inc.status);
    const isNew = !this.items.has(inc.id) && !gone;
    if (gone) this.items.delete(inc.id);
    else this.items.set(inc.id, { ...(this.items.get(inc.id) || {}), ...inc });
    this.changed({ isNew, id: inc.id });
  }

  load(list) {
    this.items.clear();
    for (const raw of list) {
      const inc = normIncident(raw, Date.now());
      if (inc && !CLOSED.has(inc.status)) this.items.set(inc.id, inc);
    }
    this.changed({ isNew: false });
  }

  sorted() {
    return [...this.items.values()].sort((a, b) => a.priority - b.priority || a.opened - b.opened);
  }
}

const incidents = new IncidentStore();

async function loadIncidents() {
  const r = await api("/api/incidents?state=open&limit=1000");
  incidents.available = r.ok;
  if (r.ok) incidents.load(itemsOf(r.data));
  else incidents.changed({ isNew: false });
}

// A short two-tone chime for a new incident (browsers allow it once the page has been used).
let audio = null;
function chime() {
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [[0, 880], [1, 660]]) {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.15, now + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.18 + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.18);
      osc.stop(now + i * 0.18 + 0.17);
    }
  } catch (err) { /* no audio device: the visual highlight still shows */ }
}

function renderAlarmStrip() {
  const strip = $("#alarm-strip");
  if (!strip) return;
  const list = incidents.sorted();
  $("#alarm-count").textContent = String(list.length);
  strip.dataset.count = String(list.length);
  strip.dataset.top = list.length ? String(list[0].priority) : "";
}
incidents.onChange(renderAlarmStrip);

// ---- the websocket ----------------------------------------------------------------------------

class Live {
  constructor() {
    this.epoch = null;
    this.seq = null;
    this.ws = null;
    this.failures = 0;
    this.heartbeat = 15;
    this.lastMessage = 0;
    this.handlers = [];
    this.snapshots = [];
    this.loading = null;
    this.pending = [];
  }

  on(fn) { this.handlers.push(fn); }
  snapshot(fn) { this.snapshots.push(fn); }

  setState(state) {
    const el = $("#live");
    document.body.dataset.live = state;
    if (el) {
      el.dataset.state = state;
      el.textContent = t(`live.${state}`);
    }
    const banner = $("#disconnected");
    if (banner) banner.hidden = state !== "disconnected";
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.epoch !== null && this.seq !== null
      ? `?epoch=${encodeURIComponent(this.epoch)}&since=${this.seq}` : "";
    const ws = new WebSocket(`${proto}//${location.host}/ws${query}`);
    this.ws = ws;
    ws.onmessage = (msg) => this.receive(JSON.parse(msg.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState("disconnected");
      this.retry();
    };
  }

  async retry() {
    this.failures += 1;
    if (this.failures % 3 === 0) {
      const r = await api("/api/auth/me");
      if (r.status === 401) {
        this.setState("session");
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
    }
    const delay = Math.min(500 * 2 ** Math.min(this.failures - 1, 4), 5000) * (0.8 + Math.random() * 0.4);
    setTimeout(() => this.connect(), delay);
  }

  watchdog() {
    setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN
          && Date.now() - this.lastMessage > this.heartbeat * 2500) {
        this.ws.close();  // silent for too long: treat as gone and reconnect
      }
    }, 1000);
  }

  async reload(seq) {
    this.setState("resync");
    this.loading = Promise.all(this.snapshots.map((fn) => fn()));
    await this.loading;
    this.loading = null;
    const held = this.pending;
    this.pending = [];
    for (const msg of held) this.deliver(msg, false);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.setState("connected");
    if (seq !== undefined && (this.seq === null || seq > this.seq)) this.seq = seq;
  }

  receive(msg) {
    this.lastMessage = Date.now();
    if (msg.type === "hello") {
      const fresh = this.epoch !== msg.epoch || this.seq === null;
      this.epoch = msg.epoch;
      this.heartbeat = msg.heartbeat || 15;
      this.failures = 0;
      this.setState("connected");
      if (fresh) { this.seq = msg.seq; this.reload(msg.seq); }
      return;
    }
    if (msg.type === "reload") { this.seq = msg.seq; this.reload(msg.seq); return; }
    if (msg.type === "ping") {
      if (this.seq === null || msg.seq > this.seq) this.seq = msg.seq;
      this.ws?.send(JSON.stringify({ type: "pong", seq: this.seq }));
      return;
    }
    if (msg.type === "event") {
      if (this.seq !== null && msg.seq <= this.seq) return;  // seen already
      this.seq = Math.max(this.seq ?? 0, msg.seq);
      if (this.loading) { this.pending.push(msg); return; }
      this.deliver(msg, true);
    }
  }

  deliver(msg, live) {
    for (const fn of this.handlers) {
      try { fn(msg.topic, msg.data || {}, msg, live); } catch (err) { console.error(err); }
    }
  }
}

const live = new Live();
live.snapshot(loadIncidents);
live.on((topic, data, msg, isLive) => {
  if (topic.startsWith("incident.")) {
    const known = normIncident(data, 0);
    incidents.apply(topic, data, msg.ts * 1000);
    if (isLive && topic === "incident.opened" && known) chime();
  }
});

// ---- language switch --------------------------------------------------------------------------

$("#lang-switch")?.addEventListener("click", async (ev) => {
  const language = ev.currentTarget.dataset.lang;
  const r = await api("/api/me/language", { method: "PATCH", body: { language } });
  if (r.ok) location.reload();
  else alert(t("common.failed"));
});

// ---- the agent console ------------------------------------------------------------------------

function initConsole() {
  const rows = $("#alarm-rows");
  const fresh = new Set();

  const render = () => {
    const list = incidents.sorted();
    const now = Date.now();
    rows.innerHTML = list.map((inc) => {
      const age = (now - inc.opened) / 1000;
      const late = age > inc.target ? " late" : "";
      const isFresh = fresh.has(inc.id) ? " fresh" : "";
      const who = inc.takenBy ? ` · ${esc(inc.takenBy)}` : "";
      return `<tr class="prio-${inc.priority}${late}${isFresh}" data-id="${esc(inc.id)}" tabindex="0">
        <td><span class="badge prio-${inc.priority}">P${inc.priority} ${esc(t(`prio.${inc.priority}`))}</span></td>
        <td class="age" data-opened="${inc.opened}" data-target="${inc.target}">${duration(age)}</td>
        <td>${esc(inc.account)}</td>
        <td><b>${esc(named("class", inc.cls))}</b>
            ${inc.label ? `<span class="muted">${esc(inc.label)}</span>` : ""}</td>
        <td>${esc(inc.zone)}</td>
        <td>${esc(named("status", inc.status))}${who}</td>
      </tr>`;
    }).join("");
    $("#queue-empty").hidden = list.length > 0;
    $("#alarm-table").hidden = list.length === 0;
    const notice = $("#queue-notice");
    notice.hidden = incidents.available;
    notice.textContent = t("queue.unavailable");
    const counts = new Map();
    for (const inc of list) counts.set(inc.cls, (counts.get(inc.cls) || 0) + 1);
    $("#class-counts").innerHTML = [...counts.entries()].map(([cls, n]) => {
      const name = named("class", cls);
      return `<li>${esc(name)} <b>${n}</b></li>`;
    }).join("");
  };

  incidents.onChange(({ isNew, id }) => {
    if (isNew && id) {
      fresh.add(id);
      setTimeout(() => { fresh.delete(id); render(); }, 10000);
    }
    render();
  });
  rows.addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr) location.href = `/incidents/${encodeURIComponent(tr.dataset.id)}`;
  });
  rows.addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr && ev.key === "Enter") location.href = `/incidents/${encodeURIComponent(tr.dataset.id)}`;
  });
  setInterval(() => {
    const now = Date.now();
    for (const cell of rows.querySelectorAll("td.age")) {
      const age = (now - Number(cell.dataset.opened)) / 1000;
      cell.textContent = duration(age);
      cell.parentElement.classList.toggle("late", age > Number(cell.dataset.target));
    }
  }, 1000);
  render();

  live.on((topic, data) => {
    if (topic === "screenpop" || topic.startsWith("screenpop.")) renderPop(data);
    if (topic.startsWith("agent.") && data.state) {
      const el = $("#agent-state");
      el.dataset.state = data.state;
      el.textContent = t(`state.${data.state}`) === `state.${data.state}` ? data.state : t(`state.${data.state}`);
    }
    if (topic.startsWith("call.")) {
      const party = data.caller_id ?? data.callerid ?? data.number ?? data.remote ?? "";
      $("#call-line").textContent = topic === "call.ended" || topic === "call.hangup"
        ? t("phone.idle") : `${party} · ${data.state ?? topic.slice(5)}`;
    }
  });
}

function renderPop(data) {
  const box = $("#screenpop");
  const acct = data.account && typeof data.account === "object" ? data.account : null;
  const caller = data.caller_id ?? data.callerid ?? data.caller ?? data.number ?? "";
  box.dataset.state = "ringing";
  if (!acct) {
    box.innerHTML = `<div class="pop-card unknown"><p class="pop-caller">${esc(t("pop.caller"))}: <b>${esc(caller)}</b></p>
      <p>${esc(t("pop.unknown"))}</p></div>`;
    return;
  }
  const fields = [
    ["pop.account", `${acct.number ?? ""} ${acct.name ?? ""}`],
    ["pop.address", acct.address ?? data.premises?.address ?? ""],
    ["pop.status", acct.status ?? ""],
    ["pop.queue", data.queue ?? ""],
  ].filter(([, v]) => String(v).trim());
  const link = acct.id !== undefined ? `<a href="/api/accounts/${encodeURIComponent(acct.id)}">${esc(t("pop.open_account"))}</a>` : "";
  box.innerHTML = `<div class="pop-card"><p class="pop-caller">${esc(t("pop.caller"))}: <b>${esc(caller)}</b></p>
    <dl class="facts">${fields.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`).join("")}</dl>${link}</div>`;
}

// ---- incident view ----------------------------------------------------------------------------

async function initIncident() {
  const id = $("#incident").dataset.incidentId;
  const notice = $("#incident-notice");
  const r = await api(`/api/incidents/${encodeURIComponent(id)}`);
  if (!r.ok) {
    notice.hidden = false;
    notice.textContent = r.missing ? t("incident.unavailable") : t("incident.notfound");
    return;
  }
  const inc = normIncident(r.data.incident ?? r.data, Date.now());
  if (inc) {
    $("#incident-summary").innerHTML = `<span class="badge prio-${inc.priority}">P${inc.priority} ${esc(t(`prio.${inc.priority}`))}</span>
      <b>${esc(named("class", inc.cls))}</b> · ${esc(inc.account)} · ${esc(named("status", inc.status))}`;
  }
  const signals = itemsOf(r.data.signals ?? r.data.incident?.signals);
  if (signals.length) {
    const box = $("#incident-signals");
    box.classList.remove("empty");
    box.innerHTML = `<ul>${signals.map((s) => `<li>${esc(s.received_at ?? "")} ${esc(s.event_code ?? s.code ?? "")} ${esc(s.zone ?? "")} ${esc(s.description ?? "")}</li>`).join("")}</ul>`;
  }
}

// ---- wallboard --------------------------------------------------------------------------------

function initWallboard() {
  const queues = new Map();
  const renderAlarms = () => {
    const list = incidents.sorted();
    $("#wb-open").textContent = String(list.length);
    const oldest = list.reduce((min, inc) => Math.min(min, inc.opened), Infinity);
    $("#wb-oldest").textContent = Number.isFinite(oldest) ? duration((Date.now() - oldest) / 1000) : "–";
    for (let p = 1; p <= 4; p += 1) {
      $(`#wb-prio-${p}`).textContent = String(list.filter((i) => i.priority === p).length);
    }
  };
  const pct = (v) => (v === undefined || v === null ? "–" : `${Math.round(Number(v) * (Number(v) <= 1 ? 100 : 1))}%`);
  const renderQueues = () => {
    const box = $("#queue-tiles");
    if (!queues.size) { box.innerHTML = `<p class="empty">${esc(t("wall.noqueues"))}</p>`; return; }
    box.innerHTML = [...queues.values()].map((q) => `<div class="queue-card"><h3>${esc(q.name ?? q.queue)}</h3>
      <div class="tiles">
        <div class="tile"><span class="k">${esc(t("wall.waiting"))}</span><b>${esc(q.waiting ?? q.callers ?? 0)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.longest"))}</span><b>${duration(Number(q.longest_wait ?? 0))}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.sl"))}</span><b>${pct(q.service_level)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.asa"))}</span><b>${duration(Number(q.asa ?? NaN))}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.abandon"))}</span><b>${pct(q.abandon_rate)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_free"))}</span><b>${esc(q.agents_ready ?? q.available ?? "–")}</b></div>
      </div></div>`).join("");
  };
  incidents.onChange(renderAlarms);
  setInterval(renderAlarms, 1000);
  live.snapshot(async () => {
    const r = await api("/api/cti/queues");
    queues.clear();
    if (r.ok) for (const q of itemsOf(r.data)) queues.set(q.name ?? q.queue, q);
    renderQueues();
  });
  live.on((topic, data) => {
    if ((topic.startsWith("queue.") || topic.startsWith("wallboard.")) && (data.queue || data.name)) {
      const key = data.name ?? data.queue;
      queues.set(key, { ...(queues.get(key) || {}), ...data });
      renderQueues();
    }
  });
  renderAlarms();
}

// ---- agent grid -------------------------------------------------------------------------------

function initAgents() {
  const agents = new Map();
  const render = () => {
    const list = [...agents.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    $("#agents-empty").hidden = list.length > 0;
    $("#agent-grid").hidden = list.length === 0;
    const now = Date.now();
    $("#agent-rows").innerHTML = list.map((a) => {
      const since = timeOf(a.since ?? a.state_since, NaN);
      return `<tr data-state="${esc(a.state)}"><td>${esc(a.name)}</td><td>${esc(a.extension)}</td>
        <td><span class="state state-${esc(a.state)}">${esc(t(`state.${a.state}`))}</span>${a.reason ? ` · ${esc(a.reason)}` : ""}</td>
        <td>${duration((now - since) / 1000)}</td><td>${esc(a.call ?? a.incident ?? "")}</td></tr>`;
    }).join("");
  };
  const norm = (a) => ({ name: a.display_name ?? a.name ?? a.username ?? a.agent ?? a.member,
    extension: a.extension ?? a.interface ?? "", state: a.state ?? "unknown", reason: a.reason ?? a.pause_reason,
    since: a.since ?? a.state_since, call: a.call ?? a.caller_id, incident: a.incident });
  live.snapshot(async () => {
    const r = await api("/api/cti/agents");
    agents.clear();
    if (r.ok) for (const a of itemsOf(r.data)) { const n = norm(a); agents.set(String(n.name), n); }
    render();
  });
  live.on((topic, data) => {
    if (topic.startsWith("agent.")) {
      const n = norm(data);
      if (n.name !== undefined) { agents.set(String(n.name), { ...(agents.get(String(n.name)) || {}), ...n }); render(); }
    }
  });
  setInterval(render, 1000);
  render();
}

// ---- admin ------------------------------------------------------------------------------------

async function initAdmin() {
  const r = await api("/api/users");
  $("#user-rows").innerHTML = r.ok ? itemsOf(r.data).map((u) => `<tr><td>${esc(u.username)}</td>
    <td>${esc(u.display_name)}</td><td>${esc(t(`role.${u.role}`))}</td><td>${esc(u.language)}</td>
    <td>${esc(u.extension ?? "")}</td></tr>`).join("") : `<tr><td colspan="5">${esc(t("common.failed"))}</td></tr>`;
  for (const section of document.querySelectorAll("[data-probe]")) {
    const res = await api(section.dataset.probe);
    const state = section.querySelector('[data-role="state"]');
    if (res.ok) {
      const items = itemsOf(res.data);
      state.classList.remove("empty");
      state.textContent = Array.isArray(res.data) || res.data?.items ? `${items.length}` : JSON.stringify(res.data);
    } else {
      state.textContent = t("common.unavailable");
    }
  }
}

// ---- start ------------------------------------------------------------------------------------

const pages = { console: initConsole, incident: initIncident, wallboard: initWallboard,
  agents: initAgents, admin: initAdmin };
pages[PAGE]?.();
live.setState("connecting");
live.watchdog();
live.connect();
window.vigil = { live, incidents };
