// The console's live layer: one websocket per page (/ws), snapshots from the REST API, and the
// renderers of each page. Written as a plain module (no build step); vendor libraries are bundled
// separately by build_static.mjs.

import { csvText } from "./csv.js";

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
    takenById: inc.taken_by ?? null,
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
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      // A backlog arrives as one "batch" message: its frames are handled in order.
      for (const frame of data.type === "batch" ? data.frames : [data]) this.receive(frame);
    };
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
  // Security alerts (a login or passcode checks locked after repeated guesses) reach only the
  // supervisors' consoles (the hub filters them).
  if (isLive && topic === "security.alert") {
    const who = data.kind === "login_locked" ? data.username : `#${data.contact_id} (${data.operator})`;
    toast(`${t(`sec.${data.kind}`)}: ${who}`, true);
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
  initKb();
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
        <td class="act">${inc.takenById === me.id ? `<a class="button go" href="/incidents/${esc(inc.id)}">${esc(t("queue.continue"))}</a>`
          : inc.takenBy ? `<span class="muted">${esc(t("queue.busy"))}</span>`
          : `<button type="button" class="go" data-take="${esc(inc.id)}">${esc(t("incident.take"))}</button>`}</td>
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
  rows.addEventListener("click", async (ev) => {
    const take = ev.target.closest("button[data-take]");
    if (take) {
      ev.stopPropagation();
      take.disabled = true;
      const r = await api(`/api/incidents/${encodeURIComponent(take.dataset.take)}/take`, { method: "POST" });
      if (r.ok) { location.href = `/incidents/${encodeURIComponent(take.dataset.take)}`; return; }
      toast(`${t("incident.take_failed")}: ${errorText(r)}`, true);
      loadIncidents();
      return;
    }
    if (ev.target.closest("a")) return;
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
  });
  initPhone();
}

// ---- softphone and agent state ---------------------------------------------------------------
// The state shown is Asterisk's (or pbxsim's): the CTI's live view through /api/console/phone and
// its `agent.state` events. Nothing here keeps a state of its own that could drift; a local call
// line only bridges the second between a screen pop and the next agent.state.

const isMine = (data) => Number(data.user_id) === Number(me.id)
  || (me.extension && String(data.extension ?? "") === String(me.extension));

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement("script");
    el.src = src; el.onload = resolve; el.onerror = reject;
    document.head.append(el);
  });
}

function initPhone() {
  const panel = $("#phone");
  if (!panel) return;
  const ph = { mode: "", cti: false, agent: { state: "unknown" }, sinceMs: Date.now(), queues: [],
    defaults: [], codes: [], wrapup: 5, call: null, muted: false, sip: null, registered: false };
  let session = null;  // the JsSIP session (WebRTC mode)
  let boxesFor = "";
  const btn = (a) => panel.querySelector(`[data-action="${a}"]`);
  const stateText = (s) => (t(`state.${s}`) === `state.${s}` ? s : t(`state.${s}`));
  const codeLabel = (code) => ph.codes.find((c) => c.code === code)?.label ?? code;
  const notice = (text) => { const el = $("#phone-notice"); el.hidden = !text; el.textContent = text || ""; };

  function setAgent(row, fromSnapshot = false) {
    const before = ph.agent.state;
    ph.agent = { ...ph.agent, ...row };
    if (row.since !== undefined && row.since !== null) ph.sinceMs = timeOf(row.since, Date.now());
    else if (row.state !== before) ph.sinceMs = Date.now();
    const live = row.call || null;
    if (row.state === "in_call") {
      ph.call = { ...(ph.call || { since: Date.now() }), state: "connected" };
      if (live) Object.assign(ph.call, { number: ph.call.number || live.number, name: ph.call.name || live.name });
    } else if (row.state === "ringing") {
      ph.call = { since: Date.now(), ...(ph.call || {}), state: ph.call?.state === "connected" ? "connected" : "ringing" };
      if (live) Object.assign(ph.call, { number: ph.call.number || live.number, name: ph.call.name || live.name });
    } else if (fromSnapshot) {
      // the CTI's view of the phone's channels decides whether a call is still there
      ph.call = live ? { since: Date.now(), ...(ph.call || {}), number: ph.call?.number || live.number,
        name: ph.call?.name || live.name, state: live.state } : (session ? ph.call : null);
    } else if (ph.call && !session) {
      refresh();  // a state change without a call: ask the CTI (the pop may be ahead of it)
    }
    render();
  }

  async function refresh() {
    const r = await api("/api/console/phone");
    if (!r.ok) { ph.cti = false; render(); return; }
    const d = r.data;
    Object.assign(ph, { mode: d.mode, cti: d.cti, queues: d.queues, defaults: d.default_queues, parked: d.parked || [],
      codes: d.pause_codes, wrapup: Number(d.wrapup_seconds) || 0, sip: d.sip });
    setAgent(d.agent, true);
    if (ph.mode === "webrtc" && ph.sip && !startWebrtc.started) startWebrtc();
  }

  async function act(path, body, okText) {
    const r = await api(path, { method: "POST", body: body ?? {} });
    if (!r.ok) toast(errorText(r), true);
    else if (okText) toast(okText);
    await refresh();
    return r;
  }

  function renderQueues() {
    const key = `${ph.queues.join(",")}|${ph.agent.state === "logged_out"}|${(ph.agent.queues || []).join(",")}`;
    if (key === boxesFor) return;
    boxesFor = key;
    const inQueues = new Set(ph.agent.queues || []);
    const ticked = ph.agent.state === "logged_out" ? new Set(ph.defaults) : inQueues;
    $("#queue-boxes").innerHTML = ph.queues.map((q) => `<label><input type="checkbox" name="queue" value="${esc(q)}"
      ${ticked.has(q) ? "checked" : ""}> ${esc(q)}${inQueues.has(q) ? " ✓" : ""}</label>`).join("") || `<span class="muted">${esc(t("common.none"))}</span>`;
    const sel = $("#pause-reason");
    const was = sel.value;
    sel.innerHTML = ph.codes.map((c) => `<option value="${esc(c.code)}">${esc(c.label)}</option>`).join("");
    if (was) sel.value = was;
  }

  function render() {
    const a = ph.agent;
    const state = a.state || "unknown";
    panel.dataset.mode = ph.mode;
    $("#phone-mode").textContent = ph.mode ? t(`phone.mode.${ph.mode}`) : "";
    const st = $("#agent-state");
    st.dataset.state = state;
    st.textContent = stateText(state);
    $("#agent-reason").textContent = state === "paused" && a.reason ? codeLabel(a.reason) : "";
    renderQueues();
    const call = ph.call;
    const line = $("#call-line");
    line.dataset.state = call ? call.state : "idle";
    panel.dataset.call = call ? call.state : "idle";
    $("#call-what").textContent = !call ? t("phone.idle") : call.state === "ringing" ? t("phone.incoming")
      : call.state === "dialing" ? t("phone.dialing") : t("phone.connected");
    $("#call-party").textContent = call ? [call.number, call.name].filter(Boolean).join(" · ") : "";
    const cti = ph.cti && Boolean(me.extension);
    const inQueues = state !== "logged_out" && state !== "unknown";
    const connected = call?.state === "connected";
    const set = (el, on) => { if (el) el.disabled = !on; };
    set(btn("join"), cti);
    btn("join").classList.toggle("go", !inQueues);  // prominent only while it is the next step
    set(btn("leave"), cti && inQueues);
    set(btn("ready"), cti && state === "paused");
    set($("#pause-reason"), cti && inQueues);
    set(btn("pause"), cti && inQueues && state !== "paused" && ph.codes.length > 0);
    const canAnswer = call?.state === "ringing" && (ph.mode === "pbxsim" || (ph.mode === "webrtc" && session));
    set(btn("answer"), canAnswer);
    set(btn("hangup"), Boolean(call));
    set(btn("hold"), cti && connected);
    set(btn("mute"), connected && ph.mode === "webrtc" && Boolean(session));
    btn("mute").textContent = ph.muted ? t("phone.unmute") : t("phone.mute");
    btn("mute").title = ph.mode === "webrtc" ? "" : t("phone.mute_desk");
    for (const el of panel.querySelectorAll("#transfer-form input, #transfer-form select, #transfer-form button, [data-dtmf]")) set(el, cti && connected);
    const parked = ph.parked || [];
    $("#parked").hidden = !parked.length;
    $("#parked-list").innerHTML = parked.map((p) => `<li><b class="space">${esc(t("phone.park_space"))} ${esc(p.space)}</b>
      <span>${esc([p.number, p.name].filter(Boolean).join(" · "))}</span>
      <span class="mono muted" data-parked="${timeOf(p.parked_at, Date.now())}"></span>
      <button type="button" class="go" data-space="${esc(p.space)}" ${cti && !call ? "" : "disabled"}>${esc(t("phone.retrieve"))}</button></li>`).join("");
    for (const el of panel.querySelectorAll("#dial-form input, #dial-form button")) set(el, cti && !call);
    for (const el of panel.querySelectorAll("[data-needs-cti]")) set(el, cti);
    if (!ph.cti) notice(t("phone.no_cti"));
    else if (!me.extension) notice(t("phone.no_extension"));
    else if (state === "logged_out") notice(t("phone.join_first"));
    else if (ph.mode === "webrtc" && !ph.registered) notice(t("phone.unregistered"));
    else notice("");
    tick();
  }

  function tick() {
    const a = ph.agent;
    const since = (Date.now() - ph.sinceMs) / 1000;
    let text = "";
    if (a.state === "wrapup" && ph.wrapup > 0) text = `${t("phone.wrapup_left")} ${Math.max(0, Math.ceil(ph.wrapup - since))} s`;
    else if (a.state && a.state !== "logged_out" && a.state !== "unknown") text = duration(since);
    $("#agent-since").textContent = text;
    $("#call-time").textContent = ph.call?.since ? duration((Date.now() - ph.call.since) / 1000) : "";
    for (const el of document.querySelectorAll("#parked-list [data-parked]")) el.textContent = duration((Date.now() - Number(el.dataset.parked)) / 1000);
  }
  setInterval(tick, 1000);

  // -- WebRTC: JsSIP registered over WSS with the user's own SIP credentials
  async function startWebrtc() {
    startWebrtc.started = true;
    try {
      if (!window.JsSIP) await loadScript("/static/vendor/jssip.min.js");
      const JsSIP = window.JsSIP;
      const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ph.sip.ws_url)], uri: ph.sip.uri,
        password: ph.sip.password, authorization_user: ph.sip.authorization_user,
        display_name: ph.sip.display_name, register: true, session_timers: false });
      ua.on("registered", () => { ph.registered = true; render(); });
      ua.on("unregistered", () => { ph.registered = false; render(); });
      ua.on("registrationFailed", () => { ph.registered = false; render(); });
      ua.on("newRTCSession", ({ session: s, originator, request }) => {
        if (originator !== "remote") return;
        session = s;
        ph.call = { state: "ringing", since: Date.now(), number: ph.call?.number || request.from?.uri?.user,
          name: ph.call?.name || request.from?.display_name };
        s.on("confirmed", () => { ph.call = { ...(ph.call || {}), state: "connected", since: Date.now() }; render(); });
        s.on("peerconnection", ({ peerconnection }) => {
          peerconnection.addEventListener("track", (ev) => { $("#remote-audio").srcObject = ev.streams[0]; });
        });
        const gone = () => { if (session === s) { session = null; ph.call = null; ph.muted = false; refresh(); } };
        s.on("ended", gone); s.on("failed", gone);
        render();
      });
      window.vigilPhone = ua;
      ua.start();
    } catch (err) {
      console.error(err);
      notice(t("phone.unregistered"));
    }
  }

  // -- the controls
  $("#queue-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const queues = [...ev.target.querySelectorAll('input[name="queue"]:checked')].map((x) => x.value);
    boxesFor = "";
    act("/api/cti/login", { queues: queues.length ? queues : null });
  });
  panel.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.type === "submit") return;
    const a = b.dataset.action;
    if (a === "leave") { boxesFor = ""; act("/api/cti/logout"); }
    else if (a === "ready") act("/api/cti/unpause");
    else if (a === "pause") act("/api/cti/pause", { reason: $("#pause-reason").value || null });
    else if (a === "answer") {
      if (session) session.answer({ mediaConstraints: { audio: true, video: false } });
      else act("/api/console/phone/answer");
    } else if (a === "hangup") {
      if (session) session.terminate();
      else act("/api/console/phone/hangup");
    } else if (a === "hold") {
      const r = await act("/api/cti/park");
      if (r.ok) { ph.call = null; setTimeout(refresh, 400); }  // the lot's space arrives as ParkedCall
    } else if (a === "mute" && session) {
      if (ph.muted) session.unmute({ audio: true }); else session.mute({ audio: true });
      ph.muted = !ph.muted;
      render();
    }
  });
  $("#retrieve-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act("/api/cti/retrieve", { space: String(new FormData(ev.target).get("space") || "") });
  });
  // The transfer picker: agents (ready ones first) and queues from the CTI, or any number.
  let targetsFor = "";
  async function loadTargets() {
    const r = await api("/api/console/transfer-targets");
    if (!r.ok) return;
    const key = JSON.stringify(r.data);
    if (key === targetsFor) return;
    targetsFor = key;
    const sel = $("#transfer-target");
    const was = sel.value;
    const agents = r.data.agents.map((a) => `<option value="agent:${esc(a.extension)}">${esc(a.name)} · ${esc(a.extension)} · ${esc(t(`state.${a.state}`))}</option>`).join("");
    const queues = r.data.queues.filter((q) => q.exten).map((q) => `<option value="queue:${esc(q.name)}">${esc(q.name)} (${esc(q.exten)})</option>`).join("");
    sel.innerHTML = `<option value="">${esc(t("phone.pick_target"))}</option>
      ${agents ? `<optgroup label="${esc(t("phone.t_agents"))}">${agents}</optgroup>` : ""}
      ${queues ? `<optgroup label="${esc(t("phone.t_queues"))}">${queues}</optgroup>` : ""}
      <option value="number:">${esc(t("phone.t_number"))}</option>`;
    if ([...sel.options].some((o) => o.value === was)) sel.value = was;
  }
  $("#transfer-target").addEventListener("change", (ev) => {
    const other = ev.target.value === "number:";
    $("#transfer-form .transfer-number").hidden = !other;
    if (other) $("#transfer-form input[name=exten]").focus();
  });
  $("#transfer-target").addEventListener("focus", loadTargets);
  $("#transfer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const [kind, value] = String(f.get("target") || "").split(/:(.*)/s);
    const target = kind === "number" ? String(f.get("exten") || "").trim() : value;
    if (!kind || !target) { toast(t("phone.pick_target"), true); return; }
    const label = ev.target.querySelector(`option[value="${CSS.escape(`${kind}:${value}`)}"]`)?.textContent || target;
    act("/api/console/phone/transfer", { kind, target, attended: ev.submitter?.value === "attended" },
      `${t("phone.transfer")} → ${kind === "number" ? target : label}`);
  });
  $("#parked-list").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-space]");
    if (b) act("/api/cti/retrieve", { space: b.dataset.space });
  });
  $("#dial-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = String(new FormData(ev.target).get("number") || "").trim();
    if (number) dialNumber(number);
  });
  panel.addEventListener("click", (ev) => {
    const k = ev.target.closest("button[data-dtmf]");
    if (!k) return;
    if (session) session.sendDTMF(k.dataset.dtmf);
    else api("/api/cti/dtmf", { method: "POST", body: { digits: k.dataset.dtmf } }).then((r) => { if (!r.ok) toast(errorText(r), true); });
  });

  live.snapshot(refresh);
  live.snapshot(loadTargets);
  live.on((topic, data) => {
    if (topic === "agent.state" && !isMine(data)) { clearTimeout(loadTargets.timer); loadTargets.timer = setTimeout(loadTargets, 1000); }
    if (!isMine(data)) return;
    if (topic === "agent.state") {
      setAgent(data);
      if ((ph.parked || []).length) refresh();  // a retrieved or given-up park leaves the list
    }
    else if (topic === "screenpop" && !(ph.call?.state === "connected")) {
      ph.call = { since: Date.now(), number: data.caller_number ?? data.caller_id, name: data.account?.name ?? data.caller_name,
        state: data.direction === "outbound" ? "dialing" : "ringing" };
      render();
    } else if (topic === "call.ended" && !session) { ph.call = null; render(); refresh(); }
  });
  window.vigil = { ...(window.vigil || {}), phone: ph };
}

async function dialNumber(number) {
  const r = await api("/api/cti/dial", { method: "POST", body: { number } });
  toast(r.ok ? `${t("phone.dialing")} ${number}` : `${t("phone.dial_failed")}: ${errorText(r)}`, !r.ok);
}

// The screen-pop card: the quick card from `screenpop`, crm's summary from `screenpop.detail`
// (or fetched when the CTI sent none), and what the other packages know about the account.
let popAccountId = null;
async function renderPop(data) {
  const box = $("#screenpop");
  const acct = data.account && typeof data.account === "object" ? data.account : null;
  const caller = data.caller_id ?? data.callerid ?? data.caller ?? data.number ?? "";
  box.dataset.state = "ringing";
  const head = `<p class="pop-caller">${esc(t(data.direction === "outbound" ? "pop.calling" : "pop.caller"))}: <b>${phoneLink(caller)}</b>
    ${data.queue ? `<span class="muted">· ${esc(t("pop.queue"))} ${esc(data.queue)}</span>` : ""}</p>`;
  if (!acct) {
    popAccountId = null;
    box.innerHTML = `<div class="pop-card unknown">${head}<p>${esc(t("pop.unknown"))}</p>
      <button type="button" data-pop="ticket">${esc(t("pop.new_ticket"))}</button></div>`;
    box.dataset.caller = caller;
    return;
  }
  let summary = acct;
  if (!data.detail && acct.id !== undefined) {
    const r = await api(`/api/accounts/${encodeURIComponent(acct.id)}/summary`);
    if (r.ok) summary = r.data;
  }
  popAccountId = summary.id;
  box.dataset.caller = caller;
  const prem = summary.premises || {};
  const contract = summary.contract;
  const warn = (summary.completeness?.missing ?? summary.completeness?.warnings ?? []);
  const facts = [
    ["pop.account", `${summary.number ?? ""} ${summary.name ?? ""}`],
    ["pop.address", prem.address ?? ""],
    ["pop.status", summary.status ? (t(`acct.${summary.status}`) === `acct.${summary.status}` ? summary.status : t(`acct.${summary.status}`)) : ""],
    ["pop.contract", contract ? `${contract.fee_plan ?? ""} · ${t(`pay.${contract.payment_status}`) === `pay.${contract.payment_status}` ? contract.payment_status : t(`pay.${contract.payment_status}`)}` : t("pop.no_contract")],
    ["pop.panels", (summary.panels || []).map((p) => `${p.make} ${p.model} (${p.zones} ${t("pop.zones")})`).join("; ")],
    ["pop.access", prem.access_notes ?? ""],
  ].filter(([, v]) => String(v).trim());
  const calllist = (summary.call_list || []).map((c) => `<li><b>${esc(c.order === 0 ? t("incident.premises_line") : c.name)}</b>
    ${(c.phones || []).map((p) => phoneLink(p.number ?? p.raw ?? p.e164)).join(" ")}</li>`).join("");
  box.innerHTML = `<div class="pop-card">${head}
    ${warn.length ? `<p class="notice">${esc(t("pop.incomplete"))}: ${esc(warn.map((w) => (typeof w === "string" ? w : w.field ?? w.message ?? JSON.stringify(w))).join(", "))}</p>` : ""}
    ${contract && contract.payment_status && contract.payment_status !== "paid" ? `<p class="notice">${esc(t("pop.payment"))}: ${esc(contract.payment_status)}</p>` : ""}
    <dl class="facts">${facts.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
    <h3>${esc(t("incident.calllist"))}</h3><ol class="calllist compact">${calllist || `<li class="muted">${esc(t("common.none"))}</li>`}</ol>
    <div class="buttons"><button type="button" data-pop="ticket">${esc(t("pop.new_ticket"))}</button>
      ${me.role !== "agent" ? `<button type="button" data-pop="work_order">${esc(t("pop.new_work_order"))}</button>` : ""}</div>
    <form class="dial" data-pop-note><label>${esc(t("pop.note"))} <input name="body" maxlength="8000" autocomplete="off"></label><button type="submit">${esc(t("pop.save_note"))}</button></form>
    <h3>${esc(t("pop.incidents"))}</h3><div data-part="incidents" class="muted">…</div>
    <h3>${esc(t("pop.tickets"))}</h3><div data-part="tickets" class="muted">…</div>
    <h3>${esc(t("pop.calls"))}</h3><div data-part="calls" class="muted">…</div>
    <h3>${esc(t("pop.signals"))}</h3><div data-part="signals" class="muted">…</div>
  </div>`;
  const part = (name, html) => { const el = box.querySelector(`[data-part="${name}"]`); if (el) el.innerHTML = html; };
  const none = `<span class="muted">${esc(t("common.none"))}</span>`;
  const unavailable = `<span class="muted">${esc(t("common.unavailable"))}</span>`;
  api(`/api/incidents?state=open&account_id=${summary.id}`).then((r) => part("incidents", !r.ok ? unavailable
    : itemsOf(r.data).map((i) => `<a href="/incidents/${i.id}">#${i.id} ${esc(named("class", i.kind))} · ${esc(named("status", i.status))}</a>`).join("<br>") || none));
  api(`/api/tickets?account_id=${summary.id}&open_only=true&limit=10`).then((r) => part("tickets", !r.ok ? unavailable
    : itemsOf(r.data).map((tk) => `<span class="sla sla-${esc(tk.sla)}">${esc(t(`sla.${tk.sla}`))}</span> #${tk.id} ${esc(tk.subject)} · ${esc(t(`ticket.${tk.status}`))}`).join("<br>") || none));
  api(`/api/accounts/${encodeURIComponent(summary.number)}/signals?limit=20`).then((r) => part("signals", !r.ok ? unavailable
    : !itemsOf(r.data).length ? none : `<table class="grid small"><tbody>${itemsOf(r.data).map((s) => `<tr><td>${esc(fmtTime(s.received_at))}</td><td class="mono">${esc(s.event_code ?? "")}</td><td>${esc(named("class", s.kind ?? s.event_class ?? ""))}</td><td>${esc(s.zone ?? "")}</td></tr>`).join("")}</tbody></table>`));
  if (caller) {
    api(`/api/calls?number=${encodeURIComponent(caller)}&limit=5`).then((r) => part("calls", !r.ok ? unavailable
      : itemsOf(r.data).map((c) => `<div>${esc(fmtTime(c.started_at))} ${esc(c.direction ?? "")} ${esc(c.outcome ?? "")} ${esc(c.agent ?? "")}
        ${c.recording_url || c.recording ? `<audio controls preload="none" src="${esc(c.recording_url ?? c.recording)}"></audio>` : ""}</div>`).join("") || none));
  }
}

document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-pop]");
  if (!b) return;
  const caller = $("#screenpop")?.dataset.caller ?? "";
  if (b.dataset.pop === "ticket") {
    const r = await api("/api/tickets", { method: "POST", body: { kind: "consultation",
      subject: `${t("pop.call_from")} ${caller}`.trim(), account_id: popAccountId } });
    toast(r.ok ? `${t("pop.ticket_made")} #${r.data.id}` : errorText(r), !r.ok);
  } else if (b.dataset.pop === "work_order" && popAccountId !== null) {
    const r = await api("/api/work-orders", { method: "POST", body: { account_id: popAccountId,
      summary: `${t("pop.call_from")} ${caller}`.trim() } });
    toast(r.ok ? `${t("pop.work_order_made")} #${r.data.id}` : errorText(r), !r.ok);
  }
});
document.addEventListener("submit", async (ev) => {
  const form = ev.target.closest("form[data-pop-note]");
  if (!form || popAccountId === null) return;
  ev.preventDefault();
  const body = String(new FormData(form).get("body") || "").trim();
  if (!body) return;
  const r = await api(`/api/accounts/${popAccountId}/notes`, { method: "POST", body: { body } });
  toast(r.ok ? t("pop.note_saved") : errorText(r), !r.ok);
  if (r.ok) form.reset();
});

// ---- knowledge base (console panel, usable during a call) ---------------------------------

function initKb() {
  const form = $("#kb-form");
  if (!form) return;
  const out = $("#kb-results");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = String(new FormData(form).get("q") || "").trim();
    const r = await api(`/api/kb?q=${encodeURIComponent(q)}&limit=8`);
    if (!r.ok) { out.innerHTML = `<p class="muted">${esc(t("common.unavailable"))}</p>`; return; }
    const items = itemsOf(r.data);
    out.innerHTML = items.length ? `<ul class="kb-list">${items.map((a) => `<li><a href="#" data-kb="${a.id}">${esc(a.title)}</a>
      <span class="muted">${esc((a.tags || []).join ? a.tags.join(", ") : a.tags ?? "")}</span></li>`).join("")}</ul>`
      : `<p class="muted">${esc(t("kb.none"))}</p>`;
  });
  out.addEventListener("click", async (ev) => {
    const a = ev.target.closest("a[data-kb]");
    if (!a) return;
    ev.preventDefault();
    const r = await api(`/api/kb/${a.dataset.kb}`);
    if (r.ok) $("#kb-article").innerHTML = `<h3>${esc(r.data.title)}</h3><div class="kb-body">${esc(r.data.body)}</div>`;
  });
}

// ---- tickets ----------------------------------------------------------------------------------

const TICKET_ACTIONS = { recorded: ["assign"], assigned: ["start", "assign"], in_progress: ["finish"],
  done: ["close", "rework"], rework: ["start", "assign"], closed: [] };

function initTickets() {
  const rows = $("#ticket-rows");
  const filter = $("#ticket-filter");
  const load = async () => {
    const status = filter.value;
    const r = await api(`/api/tickets?limit=200${status === "open" ? "&open_only=true" : status ? `&status=${status}` : ""}`);
    if (!r.ok) { rows.innerHTML = `<tr><td colspan="7">${esc(t("common.unavailable"))}</td></tr>`; return; }
    const items = itemsOf(r.data);
    $("#tickets-empty").hidden = items.length > 0;
    rows.innerHTML = items.map((tk) => {
      const actions = (TICKET_ACTIONS[tk.status] || []).filter((a) => me.role !== "agent" || ((a === "start" || a === "finish") && tk.assignee_id === me.id));
      return `<tr data-sla="${esc(tk.sla)}"><td><span class="sla sla-${esc(tk.sla)}">${esc(t(`sla.${tk.sla}`))}</span></td>
        <td>#${tk.id}</td><td>${esc(tk.subject)}<span class="muted"> · ${esc(t(`tkind.${tk.kind}`))}</span></td>
        <td>${esc(t(`ticket.${tk.status}`))}</td><td>${esc(fmtDate(tk.due_at))}</td><td>${esc(tk.assignee_id ?? "–")}</td>
        <td>${actions.map((a) => `<button type="button" data-ticket="${tk.id}" data-action="${a}">${esc(t(`tact.${a}`))}</button>`).join(" ")}</td></tr>`;
    }).join("");
  };
  filter.addEventListener("change", load);
  rows.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-ticket]");
    if (!b) return;
    const body = { action: b.dataset.action };
    if (b.dataset.action === "assign") body.assignee_id = me.id;
    const r = await api(`/api/tickets/${b.dataset.ticket}/transition`, { method: "POST", body });
    if (!r.ok) toast(errorText(r), true);
    load();
  });
  $("#ticket-new").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const r = await api("/api/tickets", { method: "POST", body: { kind: f.get("kind"), subject: f.get("subject"), body: f.get("body") || "" } });
    toast(r.ok ? `${t("pop.ticket_made")} #${r.data.id}` : errorText(r), !r.ok);
    if (r.ok) { ev.target.reset(); load(); }
  });
  live.snapshot(load);
}

function fmtDate(iso) {
  const ms = timeOf(iso, NaN);
  return Number.isFinite(ms) ? new Date(ms).toLocaleString(boot.lang, { hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "–";
}

// ---- incident view ----------------------------------------------------------------------------

let optionsCache = null;
async function consoleOptions() {
  if (!optionsCache) {
    const r = await api("/api/console/options");
    optionsCache = r.ok ? r.data : { dispositions: [], false_alarm_causes: [], steps: {} };
  }
  return optionsCache;
}

function fmtTime(iso) {
  const ms = timeOf(iso, NaN);
  return Number.isFinite(ms) ? new Date(ms).toLocaleTimeString(boot.lang, { hour12: false }) : "–";
}

function errorText(r) {
  const d = r.data && (r.data.message ?? r.data.detail);
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => e.msg ?? JSON.stringify(e)).join("; ");
  return t("common.failed");
}

function phoneLink(number, extra = "") {
  if (!number) return "";
  return `<a href="#" class="tel" data-dial="${esc(number)}"${extra}>${esc(number)}</a>`;
}

// Click-to-dial on every phone number shown: the CTI places the call from the agent's phone.
document.addEventListener("click", async (ev) => {
  const link = ev.target.closest("a[data-dial]");
  if (!link) return;
  ev.preventDefault();
  dialNumber(link.dataset.dial);
});

function toast(text, bad = false) {
  let box = $("#toast");
  if (!box) {
    box = document.createElement("div");
    box.id = "toast";
    box.setAttribute("role", "status");
    document.body.append(box);
  }
  box.textContent = text;
  box.className = bad ? "bad" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

const STAGES = [
  ["opened_at", "timer.received"], ["shown_at", "timer.shown"], ["taken_at", "timer.taken"],
  ["first_call_at", "timer.first_call"], ["dispatched_at", "timer.dispatched"], ["closed_at", "timer.closed"],
];

function initIncident() {
  const id = $("#incident").dataset.incidentId;
  const notice = $("#incident-notice");
  const optsReady = consoleOptions();  // not awaited here: the snapshot must register first
  let opts = { dispositions: [], false_alarm_causes: [], steps: {} };
  let inc = null;
  let callList = null;
  const show = (text) => { notice.hidden = !text; notice.textContent = text || ""; };
  const mine = () => inc && inc.taken_by === me.id;
  const open = () => inc && inc.status !== "closed";

  async function act(path, body, okText) {
    const r = await api(path, { method: "POST", body: body ?? {} });
    if (!r.ok) { show(errorText(r)); toast(errorText(r), true); } else { show(""); if (okText) toast(okText); }
    await load();
    return r;
  }

  function renderTimers() {
    const box = $("#incident-timers");
    let prev = null;
    const start = timeOf(inc.opened_at, NaN);
    const now = Date.now();
    box.innerHTML = STAGES.map(([field, key]) => {
      const at = inc[field] ? timeOf(inc[field], NaN) : NaN;
      let took = "";
      // Each step's time since the alarm was received: what the handling-time report counts.
      if (Number.isFinite(at) && prev !== null) took = `+${duration(Math.max(0, at - start) / 1000)}`;
      else if (!Number.isFinite(at) && prev !== null && open()) took = `<span class="running" data-since="${prev}">${duration((now - prev) / 1000)}</span>`;
      const done = Number.isFinite(at);
      if (done) prev = at;
      return `<li class="${done ? "done" : ""}"><span class="k">${esc(t(key))}</span>
        <b>${done ? esc(fmtTime(inc[field])) : "–"}</b><span class="took">${took}</span></li>`;
    }).join("");
  }

  function renderHead() {
    const n = normIncident(inc, Date.now());
    $("#incident-summary").innerHTML = `<span class="badge prio-${n.priority}">P${n.priority} ${esc(t(`prio.${n.priority}`))}</span>
      <b class="cls">${esc(named("class", n.cls))}</b> <span>${esc(n.account)}</span>
      <span class="status status-${esc(inc.status)}">${esc(named("status", inc.status))}</span>
      ${inc.duress ? `<span class="badge prio-1">${esc(t("incident.duress"))}</span>` : ""}`;
    const owner = $("#incident-owner");
    if (!inc.taken_by) owner.innerHTML = open() ? `<span class="muted">${esc(t("incident.unowned"))}</span>` : "";
    else if (mine()) owner.innerHTML = `<b class="ok">${esc(t("incident.yours"))}</b>`;
    else owner.innerHTML = `<b class="warn">${esc(t("incident.taken_by"))} ${esc(inc.taken_by_name ?? inc.taken_by)}</b>`;
    $("#take-btn").hidden = !(open() && !inc.taken_by);
    $("#release-btn").hidden = !(open() && mine());
    for (const el of document.querySelectorAll("#incident [data-needs-owner]")) el.disabled = !(open() && mine());
    const hint = open() && !mine() ? (inc.taken_by ? `${t("incident.taken_by")} ${inc.taken_by_name ?? inc.taken_by}` : t("incident.take_first")) : "";
    document.body.dataset.owner = mine() ? "me" : inc.taken_by ? "other" : "none";
    if (hint && notice.hidden) show(hint);
    if (!hint && notice.textContent === t("incident.take_first")) show("");
  }

  function renderSignals() {
    const zones = Object.entries(inc.zones || {});
    const zoneHtml = zones.length ? `<ul class="zones">${zones.map(([z, v]) => `<li class="zone zone-${esc(v.state)}">
      <b>${esc(t("queue.col.zone"))} ${esc(z)}</b> ${esc(named("class", v.kind ?? ""))}
      <span class="muted">${esc(v.state === "restored" ? t("zone.restored") : t("zone.active"))}</span></li>`).join("")}</ul>` : "";
    const rows = (inc.signals || []).map((s) => `<tr><td>${esc(fmtTime(s.received_at))}</td>
      <td class="mono">${esc(s.event_system ?? "")} ${esc(s.event_code ?? "")}</td>
      <td>${esc(named("class", s.kind ?? ""))}${s.qualifier === "restore" ? ` (${esc(t("zone.restored"))})` : ""}</td>
      <td>${esc(s.zone ?? "")}</td><td>${esc(s.user ?? "")}</td></tr>`).join("");
    $("#incident-signals").innerHTML = zoneHtml + (rows ? `<table class="grid small"><thead><tr>
      <th>${esc(t("sig.time"))}</th><th>${esc(t("sig.code"))}</th><th>${esc(t("sig.kind"))}</th>
      <th>${esc(t("queue.col.zone"))}</th><th>${esc(t("sig.user"))}</th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p class="empty">${esc(t("common.none"))}</p>`);
  }

  function renderPlan() {
    const steps = inc.steps || [];
    $("#incident-plan").innerHTML = steps.length ? steps.map((s, i) => `<li class="${s.done ? "done" : ""}">
      <label><input type="checkbox" data-step="${i}" ${s.done ? "checked disabled" : "data-needs-owner"}>
      ${esc(t(`step.${s.step}`) === `step.${s.step}` ? (opts.steps[s.step] ?? s.step) : t(`step.${s.step}`))}</label>
      ${s.done ? `<span class="muted">${esc(s.done_by ?? "")} ${esc(fmtTime(s.done_at))}</span>` : ""}</li>`).join("")
      : `<li class="empty">${esc(t("common.none"))}</li>`;
  }

  function renderCallList() {
    const box = $("#incident-calllist");
    if (!callList) { box.innerHTML = `<p class="empty">${esc(t("incident.no_calllist"))}</p>`; return; }
    const called = new Set((inc.calls || []).map((c) => c.number));
    box.innerHTML = `<ol class="calllist">${callList.map((c) => `<li>
      <div><b>${esc(c.order === 0 ? t("incident.premises_line") : c.name)}</b>
        <span class="muted">${esc(t(`contact.${c.role}`) === `contact.${c.role}` ? c.role : t(`contact.${c.role}`))}${c.has_passcode ? "" : ` · ${esc(t("incident.no_passcode"))}`}</span></div>
      ${(c.phones || []).map((p) => `<div class="phone-row"><span class="mono">${esc(p.number ?? p.raw ?? p.e164)}</span>
        <button type="button" class="call" data-needs-owner data-call="${esc(p.number ?? p.raw ?? p.e164)}"
          data-contact="${c.contact_id ?? ""}" data-name="${esc(c.name)}">${esc(called.has(p.number ?? p.raw ?? p.e164) ? t("incident.call_again") : t("incident.call"))}</button></div>`).join("")}
    </li>`).join("")}</ol>`;
  }

  function renderCalls() {
    const calls = inc.calls || [];
    $("#incident-calls").innerHTML = calls.length ? calls.map((c) => {
      const outcome = c.result ? `<b>${esc(t(`result.${c.result}`))}</b>${c.code_result && c.code_result !== "none" ? ` · <b class="code-${esc(c.code_result)}">${esc(t(`code.${c.code_result}`))}</b>` : ""}` : "";
      const form = c.result ? "" : `<form class="result-form" data-call-id="${c.id}">
        <fieldset><legend>${esc(t("result.title"))}</legend>
          ${["no_answer", "busy", "answered"].map((r) => `<label class="choice"><input type="radio" name="result" value="${r}" required data-needs-owner> ${esc(t(`result.${r}`))}</label>`).join("")}
        </fieldset>
        <label class="code-field">${esc(t("result.code"))} <input name="code" autocomplete="off" maxlength="64" data-needs-owner></label>
        <label>${esc(t("close.note"))} <input name="note" maxlength="2000" data-needs-owner></label>
        <button type="submit" data-needs-owner>${esc(t("result.save"))}</button></form>`;
      return `<div class="call-card ${c.result ? "" : "pending"}"><div><b>${esc(c.contact_name || t("incident.premises_line"))}</b>
        <span class="mono">${esc(c.number)}</span> <span class="muted">${esc(fmtTime(c.requested_at))}</span> ${outcome}</div>${form}</div>`;
    }).join("") : `<p class="empty">${esc(t("incident.no_calls"))}</p>`;
  }

  async function renderDispatch() {
    const box = $("#incident-dispatch");
    const form = box.querySelector("form") ? null : document.createElement("form");
    if (form) {
      form.className = "stack";
      form.id = "dispatch-form";
      form.innerHTML = `${["audio_video", "threat_to_property", "threat_to_life"].map((k) => `<label class="choice"><input type="checkbox" name="${k}" data-needs-owner> ${esc(t(`avs.${k}`))}</label>`).join("")}
        <div class="avs" id="avs-preview"></div>
        <label>${esc(t("dispatch.reference"))} <input name="reference" maxlength="64" data-needs-owner></label>
        <div class="buttons"><button type="submit" name="kind" value="guard" data-needs-owner>${esc(t("dispatch.guard"))}</button>
        <button type="submit" name="kind" value="police" class="stop" data-needs-owner>${esc(t("dispatch.police"))}</button></div>
        <div id="dispatch-list"></div>`;
      box.append(form);
      form.addEventListener("change", () => preview());
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = new FormData(form);
        await act(`/api/incidents/${id}/dispatches`, {
          kind: ev.submitter?.value ?? "guard", reference: f.get("reference") || "",
          audio_video: f.has("audio_video"), threat_to_property: f.has("threat_to_property"),
          threat_to_life: f.has("threat_to_life") }, t("dispatch.sent"));
      });
    }
    $("#dispatch-list").innerHTML = (inc.dispatches || []).map((d) => `<div class="call-card">
      <b>${esc(t(`dispatch.${d.kind}`))}</b> · ${esc(fmtTime(d.dispatched_at))} · ${esc(d.dispatched_by)}
      <span class="badge avs-${d.avs_score}">AVS-01 ${esc(d.avs_score)}</span>
      <ul class="muted">${(d.avs_reasons || []).map((r) => `<li>${esc(r)}</li>`).join("")}</ul></div>`).join("");
    await preview();
  }

  async function preview() {
    const form = $("#dispatch-form");
    if (!form) return;
    const f = new FormData(form);
    const q = ["audio_video", "threat_to_property", "threat_to_life"].map((k) => `${k}=${f.has(k)}`).join("&");
    const r = await api(`/api/console/incidents/${id}/avs-preview?${q}`);
    $("#avs-preview").innerHTML = r.ok ? `<span class="badge avs-${r.data.level}">AVS-01 ${esc(r.data.level)}</span>
      <span class="muted">${esc(t(`avs.level.${r.data.level}`))}</span>
      <ul>${r.data.reasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "";
  }

  function renderClose() {
    const form = $("#close-form");
    const disp = form.elements.disposition, cause = form.elements.cause;
    if (!disp.options.length) {
      disp.innerHTML = `<option value="">${esc(t("close.choose"))}</option>` + opts.dispositions.map((d) => `<option value="${esc(d)}">${esc(t(`disp.${d}`))}</option>`).join("");
      cause.innerHTML = `<option value="">${esc(t("close.choose"))}</option>` + opts.false_alarm_causes.map((c) => `<option value="${esc(c)}">${esc(t(`cause.${c}`))}</option>`).join("");
      for (const el of form.elements) el.setAttribute("data-needs-owner", "");
    }
    const needCause = disp.value === "false_alarm";
    $("#cause-label").hidden = !needCause;
    cause.required = needCause;
    form.hidden = !open();
  }

  function renderAll() {
    renderSignals(); renderPlan(); renderCallList(); renderCalls(); renderClose(); renderTimers();
    renderDispatch();
    renderHead();
  }

  async function load() {
    opts = await optsReady;
    const r = await api(`/api/incidents/${encodeURIComponent(id)}`);
    if (!r.ok) { show(r.missing ? t("incident.unavailable") : t("incident.notfound")); return; }
    inc = r.data;
    if (callList === null && inc.account_id) {
      const c = await api(`/api/accounts/${inc.account_id}/call-list`);
      callList = c.ok ? itemsOf(c.data) : null;
    }
    renderAll();
    if (!inc.shown_at && open()) api(`/api/incidents/${id}/shown`, { method: "POST" });
  }

  $("#take-btn").addEventListener("click", () => act(`/api/incidents/${id}/take`, {}, t("incident.taken_ok")));
  $("#release-btn").addEventListener("click", () => act(`/api/incidents/${id}/release`, {}, t("incident.released_ok")));
  $("#incident-plan").addEventListener("change", (ev) => {
    const box = ev.target.closest("input[data-step]");
    if (box) act(`/api/incidents/${id}/steps/${box.dataset.step}`, {});
  });
  $("#incident-calllist").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-call]");
    if (!b) return;
    act(`/api/incidents/${id}/calls`, { number: b.dataset.call, contact_id: b.dataset.contact ? Number(b.dataset.contact) : null,
      contact_name: b.dataset.name || "" }, `${t("incident.calling")} ${b.dataset.name} ${b.dataset.call}`);
  });
  $("#incident-calls").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const f = new FormData(form);
    const result = f.get("result");
    const code = result === "answered" ? String(f.get("code") || "").trim() : "";
    const r = await act(`/api/calls/${form.dataset.callId}/result`, { result, code: code || null, note: f.get("note") || null });
    if (r.ok && r.data.call?.code_result) {
      const cr = r.data.call.code_result;
      toast(`${t(`result.${result}`)} · ${t(`code.${cr}`)}${cr === "duress" ? ` — ${t("code.duress_hint")}` : ""}`, cr !== "valid" && cr !== "none");
    }
  });
  $("#close-form").addEventListener("change", renderClose);
  $("#close-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const disposition = f.get("disposition");
    const r = await act(`/api/incidents/${id}/close`, { disposition, cause: disposition === "false_alarm" ? f.get("cause") : null,
      note: f.get("note") || null }, t("incident.closed_ok"));
    if (r.ok) document.body.dataset.closed = "1";
  });
  live.snapshot(load);
  live.on((topic, data) => {
    const about = String(data.incident?.id ?? data.incident_id ?? data.id ?? "");
    if (about === String(id) && (topic.startsWith("incident.") || topic.startsWith("dispatch.") || topic.startsWith("verification."))) load();
  });
  setInterval(() => {
    for (const el of document.querySelectorAll("#incident-timers .running")) el.textContent = duration((Date.now() - Number(el.dataset.since)) / 1000);
  }, 1000);
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
        <div class="tile"><span class="k">${esc(t("wall.longest"))}</span><b data-wait="${esc(Number(q.longest_wait ?? 0))}" data-at="${esc(q.at ?? Date.now())}" data-waiting="${esc(q.waiting ?? q.callers ?? 0)}">${duration(Number(q.longest_wait ?? 0))}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.sl"))}</span><b>${pct(q.service_level)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.asa"))}</span><b>${duration(Number(q.asa ?? NaN))}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.abandon"))}</span><b>${pct(q.abandon_rate)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_free"))}</span><b>${esc(q.agents_ready ?? q.available ?? "–")}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_busy"))}</span><b>${esc(q.agents_busy ?? "–")}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_paused"))}</span><b>${esc(q.agents_paused ?? "–")}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_wrapup"))}</span><b>${esc(q.agents_wrapup ?? "–")}</b></div>
      </div></div>`).join("");
  };
  incidents.onChange(renderAlarms);
  setInterval(renderAlarms, 1000);
  live.snapshot(async () => {
    const r = await api("/api/queues/live");
    queues.clear();
    if (r.ok) for (const q of itemsOf(r.data)) queues.set(q.name ?? q.queue, { ...q, at: Date.now() });
    renderQueues();
  });
  // The longest wait keeps counting between events while callers wait.
  setInterval(() => {
    for (const b of document.querySelectorAll("#queue-tiles b[data-wait]")) {
      const waiting = Number(b.dataset.waiting) > 0;
      const secs = Number(b.dataset.wait) + (waiting ? (Date.now() - Number(b.dataset.at)) / 1000 : 0);
      b.textContent = duration(secs);
    }
  }, 1000);
  // Today's share of incidents taken within 30 s and 60 s.
  const renderTaken = async () => {
    const r = await api("/api/alarm-stats/taken-within");
    if (!r.ok) return;
    $("#wb-taken-30").textContent = pct(r.data.within_30s);
    $("#wb-taken-60").textContent = pct(r.data.within_60s);
  };
  renderTaken();
  setInterval(renderTaken, 15000);
  live.on((topic, data) => {
    if ((topic.startsWith("queue.") || topic.startsWith("wallboard.")) && (data.queue || data.name)) {
      const key = data.name ?? data.queue;
      queues.set(key, { ...(queues.get(key) || {}), ...data, at: Date.now() });
      renderQueues();
    }
  });
  renderAlarms();
}

// ---- agent grid (supervisor): Asterisk's agent state, the call or incident, and actions --------

function initAgents() {
  const agents = new Map();
  let cti = true;
  const render = () => {
    const list = [...agents.values()].filter((a) => a.state !== "logged_out")
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const empty = $("#agents-empty");
    empty.hidden = list.length > 0;
    empty.textContent = cti ? t("agents.empty") : t("agents.no_cti");
    $("#agent-grid").hidden = list.length === 0;
    const now = Date.now();
    const taken = new Map(incidents.sorted().filter((i) => i.takenById !== null).map((i) => [String(i.takenById), i]));
    $("#agent-rows").innerHTML = list.map((a) => {
      const since = timeOf(a.since, NaN);
      const inc = a.user_id !== null && a.user_id !== undefined ? taken.get(String(a.user_id)) : null;
      const call = a.call ? `<span class="mono">${esc(a.call.number ?? "")}</span> ${esc(a.call.name ?? "")}` : "";
      const incident = inc ? `<a href="/incidents/${esc(inc.id)}">#${esc(inc.id)} ${esc(named("class", inc.cls))}</a>` : "";
      const uid = a.user_id ?? "";
      const can = uid !== "" && uid !== null;
      const onCall = a.state === "in_call";
      return `<tr data-state="${esc(a.state)}" data-user="${esc(uid)}" data-ext="${esc(a.extension)}"><td>${esc(a.name)}</td><td>${esc(a.extension)}</td>
        <td><span class="state state-${esc(a.state)}">${esc(t(`state.${a.state}`))}</span>${a.reason ? ` · <span class="reason">${esc(a.reasonLabel ?? a.reason)}</span>` : ""}</td>
        <td class="mono" data-since="${since}">${duration((now - since) / 1000)}</td>
        <td>${[call, incident].filter(Boolean).join("<br>") || `<span class="muted">–</span>`}</td>
        <td class="muted">${esc((a.queues || []).join(", "))}</td>
        <td><div class="agent-actions">
          ${["listen", "whisper", "barge"].map((m) => `<button type="button" data-spy="${m}" ${can && onCall ? "" : "disabled"}>${esc(t(`agents.${m}`))}</button>`).join("")}
          ${a.state === "paused" ? `<button type="button" data-force="unpause" ${can ? "" : "disabled"}>${esc(t("agents.force_ready"))}</button>`
            : `<button type="button" data-force="pause" ${can ? "" : "disabled"}>${esc(t("agents.force_pause"))}</button>`}
          <button type="button" class="stop" data-force="logout" ${can ? "" : "disabled"}>${esc(t("agents.force_logout"))}</button>
        </div></td></tr>`;
    }).join("");
  };
  const codes = new Map();
  const norm = (a) => ({ ...a, name: a.name ?? a.display_name ?? a.username ?? a.agent ?? a.member,
    extension: a.extension ?? a.interface ?? "", state: a.state ?? "unknown", reason: a.reason ?? a.pause_reason,
    reasonLabel: codes.get(a.reason ?? a.pause_reason) });
  const key = (a) => String(a.interface ?? a.extension ?? a.name);
  const load = async () => {
    const [r, c] = await Promise.all([api("/api/console/agents"), api("/api/console/pause-codes")]);
    if (c.ok) for (const p of itemsOf(c.data)) codes.set(p.code, p.label);
    agents.clear();
    cti = r.ok;
    if (r.ok) for (const a of itemsOf(r.data)) agents.set(key(a), norm(a));
    render();
  };
  live.snapshot(load);
  live.on((topic, data) => {
    if (topic === "agent.state") {
      const k = key(data);
      const old = agents.get(k) || {};
      agents.set(k, norm({ ...old, ...data, call: data.state === "in_call" || data.state === "ringing" ? old.call : null }));
      render();
      if ((data.state === "in_call" || data.state === "ringing") && !old.call) load();  // who the call is with
    } else if (topic === "call.ended") load();
  });
  incidents.onChange(render);
  $("#agent-rows").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-spy], button[data-force]");
    if (!b) return;
    const tr = b.closest("tr");
    const uid = Number(tr.dataset.user);
    if (b.dataset.spy) {
      const r = await api("/api/cti/spy", { method: "POST", body: { agent_user_id: uid, mode: b.dataset.spy } });
      toast(r.ok ? `${t("agents.spy_ringing")} ${t(`agents.${b.dataset.spy}`)}` : errorText(r), !r.ok);
      return;
    }
    const what = b.dataset.force;
    if (what === "logout" && !confirm(t("agents.confirm_logout"))) return;
    const r = await api(`/api/console/agents/${uid}/${what}`, { method: "POST", body: what === "pause" ? { reason: "supervisor" } : {} });
    if (!r.ok) toast(errorText(r), true);
    load();
  });
  setInterval(() => {
    const now = Date.now();
    for (const cell of document.querySelectorAll("#agent-rows td[data-since]")) {
      cell.textContent = duration((now - Number(cell.dataset.since)) / 1000);
    }
  }, 1000);
  render();
  initPauseCodes();
}

// ---- pause codes (supervisors and admins edit the list agents choose from) ------------------

function initPauseCodes() {
  const box = $("#pause-codes");
  if (!box) return;
  const body = box.querySelector("tbody");
  const load = async () => {
    const r = await api("/api/console/pause-codes");
    body.innerHTML = r.ok ? itemsOf(r.data).map((p) => `<tr><td class="mono">${esc(p.code)}</td><td>${esc(p.label)}</td>
      <td><button type="button" class="ghost" data-code="${esc(p.code)}">${esc(t("pc.remove"))}</button></td></tr>`).join("")
      : `<tr><td colspan="3">${esc(t("common.unavailable"))}</td></tr>`;
  };
  box.querySelector("form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const code = String(f.get("code") || "").trim();
    const r = await api(`/api/console/pause-codes/${encodeURIComponent(code)}`, { method: "PUT", body: { code, label: String(f.get("label") || "").trim() } });
    if (!r.ok) toast(errorText(r), true); else ev.target.reset();
    load();
  });
  body.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-code]");
    if (!b) return;
    const r = await api(`/api/console/pause-codes/${encodeURIComponent(b.dataset.code)}`, { method: "DELETE" });
    if (!r.ok) toast(errorText(r), true);
    load();
  });
  load();
}

// ---- admin ------------------------------------------------------------------------------------

const formJson = (form) => Object.fromEntries([...new FormData(form).entries()]
  .map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v !== ""));

async function initAdmin() {
  initPauseCodes();
  initUsers();
  initQueuesAdmin();
  initPlans();
  initReceivers();
}

function initUsers() {
  const body = $("#user-rows");
  const langs = [["zh-CN", "中文"], ["en", "English"]];
  const load = async () => {
    const r = await api("/api/users");
    body.innerHTML = r.ok ? itemsOf(r.data).map((u) => `<tr data-user="${u.id}">
      <td class="mono">${esc(u.username)}</td><td>${esc(u.display_name)}</td>
      <td><select name="role" aria-label="${esc(t("admin.col.role"))}">${["agent", "supervisor", "admin"].map((x) => `<option value="${x}" ${x === u.role ? "selected" : ""}>${esc(t(`role.${x}`))}</option>`).join("")}</select></td>
      <td><select name="language" aria-label="${esc(t("admin.col.lang"))}">${langs.map(([v, n]) => `<option value="${v}" ${v === u.language ? "selected" : ""}>${n}</option>`).join("")}</select></td>
      <td><input name="extension" value="${esc(u.extension ?? "")}" size="6" pattern="[0-9A-Za-z]*" aria-label="${esc(t("admin.col.ext"))}"></td>
      <td><input name="sip_password" type="password" size="10" placeholder="${esc(t("admin.unchanged"))}" autocomplete="new-password" aria-label="${esc(t("admin.col.sip"))}"></td>
      <td class="act"><button type="button" data-save>${esc(t("admin.save"))}</button>
        ${u.id === me.id ? "" : `<button type="button" class="ghost" data-archive>${esc(t("admin.archive"))}</button>`}</td></tr>`).join("")
      : `<tr><td colspan="7">${esc(errorText(r))}</td></tr>`;
  };
  body.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    const tr = b.closest("tr");
    const id = tr.dataset.user;
    if (b.hasAttribute("data-archive")) {
      if (!confirm(t("admin.confirm_archive"))) return;
      const r = await api(`/api/users/${id}/archive`, { method: "POST" });
      toast(r.ok ? t("admin.archived") : errorText(r), !r.ok);
    } else {
      const patch = { role: tr.querySelector("[name=role]").value, language: tr.querySelector("[name=language]").value,
        extension: tr.querySelector("[name=extension]").value.trim() || null };
      const sip = tr.querySelector("[name=sip_password]").value;
      if (sip) patch.sip_password = sip;
      const r = await api(`/api/users/${id}`, { method: "PATCH", body: patch });
      toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    }
    load();
  });
  $("#user-new").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("/api/users", { method: "POST", body: formJson(ev.target) });
    toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    if (r.ok) ev.target.reset();
    load();
  });
  load();
}

// Which queues exist and who is in them: the CTI's live view (members from its agent rows).
function initQueuesAdmin() {
  const box = $("#queues");
  const load = async () => {
    const [q, a, tt] = await Promise.all([api("/api/cti/queues"), api("/api/cti/agents"), api("/api/console/transfer-targets")]);
    const state = box.querySelector(".state");
    const lines = new Map((tt.ok ? tt.data.queues : []).map((x) => [x.name, x.exten]));
    if (!q.ok) { state.textContent = q.status === 503 ? t("rep.no_cti") : errorText(q); box.querySelector("table").hidden = true; return; }
    const members = new Map();
    for (const ag of a.ok ? itemsOf(a.data) : []) {
      for (const name of ag.queues || []) {
        if (!members.has(name)) members.set(name, []);
        members.get(name).push(ag);
      }
    }
    const rows = itemsOf(q.data);
    state.textContent = rows.length ? "" : t("admin.no_queues");
    box.querySelector("tbody").innerHTML = rows.map((row) => {
      const name = row.name ?? row.queue;
      const who = (members.get(name) || []).map((m) => `<span class="member state-${esc(m.state)}">${esc(m.name ?? m.member)} <span class="muted">${esc(m.extension ?? "")} · ${esc(t(`state.${m.state}`))}</span></span>`).join("");
      return `<tr data-queue="${esc(name)}"><td><b>${esc(name)}</b></td><td class="mono">${esc(lines.get(name) ?? "–")}</td>
        <td>${esc(row.waiting ?? row.callers_waiting ?? 0)}</td><td>${who || `<span class="muted">${esc(t("admin.nobody"))}</span>`}</td></tr>`;
    }).join("");
  };
  live.snapshot(load);
  live.on((topic) => { if (topic === "agent.state") load(); });
}

// Action plans: the alarm engine's API has create and archive; editing a plan saves the new
// version and archives the old one, so the audit keeps both.
function initPlans() {
  const box = $("#plans");
  const form = $("#plan-form");
  let steps = {};
  let plans = [];
  let editing = null;
  const stepName = (s) => (t(`step.${s}`) === `step.${s}` ? (steps[s] ?? s) : t(`step.${s}`));
  const load = async () => {
    const [o, r] = await Promise.all([consoleOptions(), api("/api/action-plans")]);
    steps = o.steps || {};
    $("#plan-steps").innerHTML = Object.keys(steps).map((s) => `<label class="choice"><input type="checkbox" name="steps" value="${esc(s)}"> ${esc(stepName(s))}</label>`).join("");
    if (!r.ok) { box.querySelector("tbody").innerHTML = `<tr><td colspan="5">${esc(errorText(r))}</td></tr>`; return; }
    plans = itemsOf(r.data);
    $("#plan-kinds").innerHTML = Object.keys(r.data.defaults || {}).map((k) => `<option value="${esc(k)}">${esc(named("class", k))}</option>`).join("");
    box.querySelector("tbody").innerHTML = plans.map((p) => `<tr data-plan="${p.id}"><td><b>${esc(named("class", p.match))}</b> <span class="muted mono">${esc(p.match)}</span></td>
      <td>${p.account_id ? `${esc(t("plan.account"))} #${esc(p.account_id)}${p.zone ? ` · ${esc(t("queue.col.zone"))} ${esc(p.zone)}` : ""}` : esc(t("plan.center"))}</td>
      <td>${esc(p.priority ?? "–")}</td><td><ol class="plan-steps">${(p.steps || []).map((s) => `<li>${esc(stepName(s))}</li>`).join("")}</ol></td>
      <td class="act"><button type="button" data-edit>${esc(t("plan.edit"))}</button> <button type="button" class="ghost" data-archive>${esc(t("admin.archive"))}</button></td></tr>`).join("")
      || `<tr><td colspan="5" class="muted">${esc(t("plan.none"))}</td></tr>`;
  };
  box.querySelector("tbody").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    const id = Number(b.closest("tr").dataset.plan);
    if (b.hasAttribute("data-archive")) {
      if (!confirm(t("plan.confirm_archive"))) return;
      const r = await api(`/api/action-plans/${id}/archive`, { method: "POST" });
      if (!r.ok) toast(errorText(r), true);
      load();
      return;
    }
    const p = plans.find((x) => x.id === id);
    editing = id;
    form.elements.match.value = p.match;
    form.elements.account_id.value = p.account_id ?? "";
    form.elements.zone.value = p.zone ?? "";
    form.elements.priority.value = p.priority ?? "";
    for (const cb of form.querySelectorAll("input[name=steps]")) cb.checked = (p.steps || []).includes(cb.value);
    $("#plan-form-title").textContent = `${t("plan.edit")} #${id}`;
    form.scrollIntoView({ block: "center" });
  });
  form.addEventListener("reset", () => { editing = null; $("#plan-form-title").textContent = t("plan.new"); });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const num = (k) => (String(f.get(k) || "").trim() ? Number(f.get(k)) : null);
    // Steps keep the order the catalogue lists them in (the checklist order).
    const body = { match: String(f.get("match")).trim(), account_id: num("account_id"), zone: String(f.get("zone") || "").trim() || null,
      priority: num("priority"), steps: f.getAll("steps").map(String) };
    const r = await api("/api/action-plans", { method: "POST", body });
    if (!r.ok) { toast(errorText(r), true); return; }
    if (editing !== null) await api(`/api/action-plans/${editing}/archive`, { method: "POST" });
    toast(t("admin.saved"));
    form.reset();
    load();
  });
  load();
}

function initReceivers() {
  const keys = $("#rx-keys tbody");
  const eps = $("#rx-endpoints tbody");
  const plain = $("#rx-plaintext tbody");
  const load = async () => {
    const [k, e, p] = await Promise.all([api("/api/receivers/dc09-keys"), api("/api/receivers"), api("/api/receivers/dc09-plaintext")]);
    plain.innerHTML = p.ok ? itemsOf(p.data).map((x) => `<tr><td class="mono"><b>${esc(x.account)}</b></td><td>${esc(x.receiver)}</td>
      <td class="warn">${esc(x.plain)}</td><td>${esc(x.encrypted)}</td><td>${esc(x.untimed)}</td><td>${esc(fmtTime(x.last_plain_at))}</td>
      <td>${x.has_key ? `<span class="ok">${esc(t("rx.on"))}</span>` : "–"}</td></tr>`).join("")
      || `<tr><td colspan="7" class="muted">${esc(t("rx.no_plaintext"))}</td></tr>` : `<tr><td colspan="7">${esc(errorText(p))}</td></tr>`;
    // The API never returns a key: the fingerprint tells keys apart, shortened further here.
    keys.innerHTML = k.ok ? itemsOf(k.data).map((x) => `<tr data-key="${x.id}"><td class="mono"><b>${esc(x.account === "*" ? t("rx.default_key") : x.account)}</b></td>
      <td>${esc(x.receiver || t("rx.any"))}</td><td class="mono masked">•••• ${esc(String(x.fingerprint ?? "").slice(0, 8))} <span class="muted">${esc(x.kind)} · ${esc(x.bits)} bit</span></td>
      <td>${esc(x.note ?? "")}</td><td class="act"><button type="button" class="ghost" data-archive-key>${esc(t("admin.archive"))}</button></td></tr>`).join("")
      || `<tr><td colspan="5" class="muted">${esc(t("rx.no_keys"))}</td></tr>` : `<tr><td colspan="5">${esc(errorText(k))}</td></tr>`;
    eps.innerHTML = e.ok ? itemsOf(e.data).map((x) => `<tr data-endpoint="${x.id ?? ""}"><td><b>${esc(x.name)}</b></td><td>${esc(x.kind)} · ${esc(x.transport)}</td>
      <td class="mono">${esc(x.device || `${x.host || "*"}:${x.port ?? ""}`)}</td>
      <td>${x.enabled ? `<span class="ok">${esc(t("rx.on"))}</span>` : `<span class="warn">${esc(t("rx.off"))}</span>`}</td>
      <td class="muted">${esc(t(x.source === "settings" ? "rx.from_settings" : "rx.from_db"))}</td>
      <td class="act">${x.id ? `<button type="button" data-toggle="${x.enabled ? "0" : "1"}">${esc(t(x.enabled ? "rx.disable" : "rx.enable"))}</button>
        <button type="button" class="ghost" data-archive-endpoint>${esc(t("admin.archive"))}</button>` : ""}</td></tr>`).join("")
      : `<tr><td colspan="6">${esc(errorText(e))}</td></tr>`;
  };
  $("#receivers").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    let r = null;
    if (b.hasAttribute("data-archive-key")) {
      if (!confirm(t("rx.confirm_archive_key"))) return;
      r = await api(`/api/receivers/dc09-keys/${b.closest("tr").dataset.key}`, { method: "DELETE" });
    } else if (b.dataset.toggle) {
      r = await api(`/api/receivers/${b.closest("tr").dataset.endpoint}`, { method: "PATCH", body: { enabled: b.dataset.toggle === "1" } });
    } else if (b.hasAttribute("data-archive-endpoint")) {
      if (!confirm(t("rx.confirm_archive_endpoint"))) return;
      r = await api(`/api/receivers/${b.closest("tr").dataset.endpoint}`, { method: "DELETE" });
    }
    if (r && !r.ok) toast(errorText(r), true);
    load();
  });
  $("#rx-key-new").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = formJson(ev.target);
    const r = await api("/api/receivers/dc09-keys", { method: "POST", body: { receiver: "", ...body } });
    toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    if (r.ok) ev.target.reset();
    load();
  });
  $("#rx-endpoint-new").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = formJson(ev.target);
    if (body.port !== undefined) body.port = Number(body.port);
    const r = await api("/api/receivers", { method: "POST", body });
    toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    if (r.ok) ev.target.reset();
    load();
  });
  load();
}

// ---- reports (supervisor): charts with Chart.js and CSV export of the same figures -------------


function csvDownload(name, rows) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob(["\ufeff" + csvText(rows)], { type: "text/csv;charset=utf-8" }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const CHART_COLOURS = ["#4c9aff", "#3ecf8e", "#ff9f43", "#ff5b5b", "#b18cff", "#f5d547", "#5ad1d1", "#8e9aaa"];
const pctOf = (v) => (v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 10);
const round1 = (v) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);

function hourLabel(iso, days) {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${d.getMonth() + 1}-${pad(d.getDate())}`;
  return days <= 1 ? `${pad(d.getHours())}:00` : `${day} ${pad(d.getHours())}:00`;
}

const dayLabel = (iso) => { const d = new Date(iso); return Number.isFinite(d.getTime()) ? `${d.getMonth() + 1}-${String(d.getDate()).padStart(2, "0")}` : String(iso); };

// Each report: where its figures come from, and how they become a table (head + rows, the CSV)
// and a chart (labels + datasets). Field names are those of cti.stats and alarms.stats.
function reportDefs(days) {
  const since = encodeURIComponent(new Date(Date.now() - days * 86400e3).toISOString());
  const slInterval = days <= 1 ? 3600 : 86400;
  const accountNames = new Map();
  return [
    { id: "calls-hour", url: `/api/stats/calls?group=interval&interval=3600&since=${since}`, type: "bar",
      build: (d) => {
        const rows = Object.entries(d.groups || {}).map(([k, v]) => [k, v.offered, v.answered, v.abandoned]);
        return { head: ["hour", "offered", "answered", "abandoned"], rows,
          labels: rows.map((r) => hourLabel(r[0], days)),
          datasets: [["rep.offered", 1], ["rep.answered", 2], ["rep.abandoned", 3]].map(([k, i]) => ({ label: t(k), data: rows.map((r) => r[i]) })) };
      } },
    { id: "sl-time", url: `/api/stats/calls?group=interval&interval=${slInterval}&since=${since}`, type: "line",
      build: (d) => {
        const rows = Object.entries(d.groups || {}).map(([k, v]) => [k, pctOf(v.service_level), v.offered, round1(v.asa_seconds)]);
        const thr = d.settings?.threshold_seconds;
        return { head: ["interval", "service_level_pct", "offered", "asa_seconds"], rows, yMax: 100,
          labels: rows.map((r) => (slInterval === 3600 ? hourLabel(r[0], 1) : dayLabel(r[0]))),
          datasets: [{ label: `${t("rep.sl")} (% ≤ ${thr ?? "?"} s)`, data: rows.map((r) => r[1]) }] };
      } },
    { id: "aht-agent", url: `/api/stats/calls?group=agent&since=${since}`, type: "bar",
      build: (d) => {
        const rows = Object.entries(d.groups || {}).map(([k, v]) => [k, round1(v.aht_seconds), v.answered]);
        return { head: ["agent", "aht_seconds", "answered"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.aht_s"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "alarms-day", url: `/api/console/reports/alarms-per-day?days=${Math.max(days, 1)}`, type: "bar", stacked: true,
      build: (d) => {
        const by = new Map((d.items || []).map((r) => [`${r.day}|${r.class}`, r.count]));
        const rows = (d.items || []).map((r) => [r.day, r.class, r.count]);
        return { head: ["day", "class", "count"], rows, labels: (d.days || []).map(dayLabel),
          datasets: (d.classes || []).map((c) => ({ label: named("class", c), data: (d.days || []).map((day) => by.get(`${day}|${c}`) || 0) })) };
      } },
    { id: "false-account", url: `/api/alarm-stats/false-alarms?by=account&days=${Math.max(days, 1)}`, type: "bar", horizontal: true,
      build: async (d) => {
        const items = itemsOf(d).filter((r) => r.false_alarms > 0).slice(0, 20);
        await Promise.all(items.filter((r) => !accountNames.has(r.account_id)).map(async (r) => {
          const a = await api(`/api/accounts/${r.account_id}`);
          accountNames.set(r.account_id, a.ok ? `${a.data.number} ${a.data.name}` : `#${r.account_id}`);
        }));
        const rows = items.map((r) => [accountNames.get(r.account_id), r.false_alarms, r.alarms, pctOf(r.rate)]);
        return { head: ["account", "false_alarms", "alarms", "false_rate_pct"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.false_alarms"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "false-model", url: `/api/alarm-stats/false-alarms?by=device_model&days=${Math.max(days, 1)}`, type: "bar", horizontal: true,
      build: (d) => {
        const rows = itemsOf(d).filter((r) => r.false_alarms > 0).slice(0, 20).map((r) => [r.device_model, r.false_alarms, r.alarms, pctOf(r.rate)]);
        return { head: ["device_model", "false_alarms", "alarms", "false_rate_pct"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.false_alarms"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "handling", url: `/api/alarm-stats/handling?since=${since}`, type: "bar",
      build: (d) => {
        const steps = ["shown", "taken", "first_call", "dispatched", "closed"];
        const rows = d.incidents ? steps.map((s) => [s, d[`to_${s}_s`]]).filter((r) => r[1] !== null && r[1] !== undefined) : [];
        return { head: ["received_to", "mean_seconds"], rows, note: `${t("rep.incidents")}: ${d.incidents ?? 0}`,
          labels: rows.map((r) => `${t("timer.received")} → ${t(`timer.${r[0]}`)}`),
          datasets: [{ label: t("rep.mean_s"), data: rows.map((r) => r[1]) }] };
      } },
  ];
}

const charts = new Map();

async function drawReport(rep) {
  const section = $(`#rep-${rep.id}`);
  const state = section.querySelector(".state");
  const csv = section.querySelector("button.csv");
  section.dataset.state = "loading";
  state.textContent = t("common.loading");
  const r = await api(rep.url);
  charts.get(rep.id)?.destroy();
  charts.delete(rep.id);
  if (!r.ok) {
    state.textContent = t(r.status === 503 ? "rep.no_cti" : r.missing ? "common.unavailable" : "common.failed");
    section.dataset.state = "error";
    csv.disabled = true;
    return;
  }
  const out = await rep.build(r.data);
  section.dataset.state = out.rows.length ? "ready" : "empty";
  section.dataset.rows = String(out.rows.length);
  state.textContent = [out.rows.length ? "" : t("rep.no_data"), out.note || ""].filter(Boolean).join(" · ");
  csv.disabled = !out.rows.length;
  csv.onclick = () => csvDownload(`${rep.id}.csv`, [out.head, ...out.rows]);
  section.querySelector("thead").innerHTML = `<tr>${out.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  section.querySelector("tbody").innerHTML = out.rows.map((row) => `<tr>${row.map((v) => `<td>${esc(v ?? "–")}</td>`).join("")}</tr>`).join("");
  section.querySelector(".chart-box").hidden = !out.rows.length;
  if (!out.rows.length || !window.Chart) return;
  const grid = { color: "#2a3645" };
  const ticks = { color: "#c6d1dc" };
  const chart = new window.Chart(section.querySelector("canvas"), {
    type: rep.type,
    data: { labels: out.labels, datasets: out.datasets.map((ds, i) => ({ ...ds, backgroundColor: CHART_COLOURS[i % CHART_COLOURS.length],
      borderColor: CHART_COLOURS[i % CHART_COLOURS.length], spanGaps: true, tension: 0.2 })) },
    options: { animation: false, maintainAspectRatio: false, indexAxis: rep.horizontal ? "y" : "x",
      plugins: { legend: { display: out.datasets.length > 1 || rep.type === "line", labels: { color: "#eef2f6" } } },
      scales: { x: { stacked: Boolean(rep.stacked), ticks, grid }, y: { stacked: Boolean(rep.stacked), ticks, grid, beginAtZero: true, ...(out.yMax ? { max: out.yMax } : {}) } } },
  });
  charts.set(rep.id, chart);
}

function initReports() {
  const range = $("#report-range");
  const draw = () => Promise.all(reportDefs(Number(range.elements.days.value)).map(drawReport));
  range.addEventListener("change", draw);
  $("#report-print").addEventListener("click", () => window.print());
  draw();
  initMonthly();
  window.vigil = { ...(window.vigil || {}), reports: { draw } };
}

// The monthly subscriber summary: one account and month, as the subscriber's report says it.
function initMonthly() {
  const form = $("#monthly-form");
  const sheet = $("#monthly-sheet");
  const section = $("#rep-monthly");
  const list = $("#monthly-accounts");
  const found = new Map();
  const now = new Date();
  form.elements.month.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const search = async () => {
    const q = form.elements.account.value.trim();
    const r = await api(`/api/accounts?limit=20${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    if (!r.ok) return;
    list.innerHTML = itemsOf(r.data).map((a) => {
      const label = `${a.number} ${a.name}`;
      found.set(label, a);
      found.set(String(a.number), a);
      return `<option value="${esc(label)}"></option>`;
    }).join("");
  };
  form.elements.account.addEventListener("input", search);
  search();
  const FIELDS = ["alarms", "false_alarms", "real_alarms", "troubles", "openings", "closings", "tests", "signals"];
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = form.elements.account.value.trim();
    if (!found.has(text)) await search();
    const acct = found.get(text) || found.get(text.split(" ")[0]);
    const state = section.querySelector(".state");
    if (!acct) { state.textContent = t("rep.pick_account"); return; }
    const month = form.elements.month.value;
    const r = await api(`/api/alarm-stats/summary/${acct.id}?month=${encodeURIComponent(month)}`);
    if (!r.ok) { state.textContent = errorText(r); section.dataset.state = "error"; return; }
    const d = r.data;
    const kinds = Object.entries(d.incidents_by_kind || {});
    const rows = [...FIELDS.map((f) => [f, d[f]]), ...kinds.map(([k, n]) => [`kind:${k}`, n])];
    state.textContent = "";
    section.dataset.state = "ready";
    sheet.innerHTML = `<h3>${esc(acct.number)} ${esc(acct.name)} · ${esc(month)}</h3>
      <div class="tiles">${FIELDS.map((f) => `<div class="tile"><span class="k">${esc(t(`month.${f}`))}</span><b data-field="${f}">${esc(d[f])}</b></div>`).join("")}</div>
      ${kinds.length ? `<table class="grid small"><thead><tr><th>${esc(t("rep.class"))}</th><th>${esc(t("rep.count"))}</th></tr></thead>
        <tbody>${kinds.map(([k, n]) => `<tr><td>${esc(named("class", k))}</td><td>${esc(n)}</td></tr>`).join("")}</tbody></table>` : ""}`;
    const csv = section.querySelector("button.csv");
    csv.disabled = false;
    csv.onclick = () => csvDownload(`monthly-${acct.number}-${month}.csv`, [["measure", "value"], ["account", acct.number], ["month", month], ...rows]);
    $("#monthly-print").disabled = false;
  });
  $("#monthly-print").addEventListener("click", () => {
    document.body.dataset.print = "monthly";
    window.print();
    setTimeout(() => { delete document.body.dataset.print; }, 500);
  });
}

// ---- admin extras: disaster mode and the blacklist ---------------------------------------------

async function initSwitches() {
  const dm = $("#disaster");
  if (dm) {
    const show = (d) => {
      dm.querySelector(".state").textContent = d.active ? t("disaster.on") : t("disaster.off");
      dm.dataset.active = d.active ? "1" : "0";
      dm.querySelector("button").textContent = d.active ? t("disaster.turn_off") : t("disaster.turn_on");
    };
    const r = await api("/api/alarm-disaster");
    if (r.ok) show(r.data);
    dm.querySelector("button").addEventListener("click", async () => {
      const on = dm.dataset.active !== "1";
      if (!confirm(on ? t("disaster.confirm_on") : t("disaster.confirm_off"))) return;
      const res = await api("/api/alarm-disaster", { method: "PUT", body: { active: on, rules: {} } });
      if (res.ok) show(res.data); else toast(errorText(res), true);
    });
  }
  const bl = $("#blacklist");
  if (bl) {
    const load = async () => {
      const r = await api("/api/console/blacklist");
      bl.querySelector("tbody").innerHTML = r.ok ? itemsOf(r.data).map((e) => `<tr><td class="mono">${esc(e.number)}</td><td>${esc(e.reason)}</td>
        <td>${esc(e.added_by)}</td><td><button type="button" class="ghost" data-unblock="${esc(e.number)}">${esc(t("bl.remove"))}</button></td></tr>`).join("")
        : `<tr><td colspan="4">${esc(t("common.unavailable"))}</td></tr>`;
    };
    bl.querySelector("form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(ev.target);
      const r = await api("/api/console/blacklist", { method: "POST", body: { number: f.get("number"), reason: f.get("reason") || "" } });
      if (!r.ok) toast(errorText(r), true); else ev.target.reset();
      load();
    });
    bl.addEventListener("click", async (ev) => {
      const b = ev.target.closest("button[data-unblock]");
      if (!b) return;
      await api(`/api/console/blacklist?number=${encodeURIComponent(b.dataset.unblock)}`, { method: "DELETE" });
      load();
    });
    load();
  }
}

// ---- start ------------------------------------------------------------------------------------

const pages = { console: initConsole, incident: initIncident, tickets: initTickets, reports: initReports, wallboard: initWallboard,
  agents: initAgents, admin: initAdmin };
pages[PAGE]?.();
if (PAGE === "admin" || PAGE === "wallboard") initSwitches();
live.setState("connecting");
live.watchdog();
live.connect();
window.vigil = { ...(window.vigil || {}), live, incidents };
