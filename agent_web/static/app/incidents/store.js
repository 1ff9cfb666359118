// Open incidents, kept for the whole session: the top bar counts them, the alarm queue and the
// wallboard show them. Fed by the incidents API on (re)connect and by ``incident.*`` events.
import { api, itemsOf } from "../core/api.js";
import { $ } from "../core/dom.js";
import { timeOf } from "../core/format.js";
import { t } from "../core/i18n.js";
import { live } from "../core/live.js";

// Seconds a waiting incident may age before it shows as late, by priority (1 = most urgent).
const TARGET = { 1: 30, 2: 60, 3: 120, 4: 300 };
const CLOSED = new Set(["closed"]);

function zonesText(zones) {
  if (!zones || typeof zones !== "object") return "";
  return Object.entries(zones).map(([zone, info]) => {
    const restored = info && info.state === "restored" ? ` (${t("zone.restored")})` : "";
    return `${zone}${restored}`;
  }).join(", ");
}

// The queue's row of an incident (the API's and the events' incident share one shape).
export function normIncident(raw, fallbackMs) {
  const inc = raw && raw.incident && typeof raw.incident === "object" ? raw.incident : raw;
  if (!inc || inc.id === undefined || inc.id === null) return null;
  let priority = Number(inc.priority ?? 3);
  if (!Number.isFinite(priority)) priority = 3;
  priority = Math.min(Math.max(Math.round(priority), 1), 7);
  return {
    id: String(inc.id),
    priority,
    cls: String(inc.kind ?? "unknown"),
    eventClass: String(inc.event_class ?? ""),
    label: inc.description ?? "",
    account: [inc.account_number, inc.account_name].filter((v) => v && String(v).trim()).join(" · ")
      || (inc.account_id ? `#${inc.account_id}` : ""),
    zone: zonesText(inc.zones),
    status: String(inc.status ?? "new"),
    takenBy: inc.taken_by_name ?? "",
    takenById: inc.taken_by ?? null,
    duress: Boolean(inc.duress),
    opened: timeOf(inc.opened_at, fallbackMs),
    target: Number(inc.target_seconds ?? TARGET[priority] ?? 300),
  };
}

class IncidentStore {
  constructor() { this.items = new Map(); this.listeners = new Set(); this.available = true; }
  onChange(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  changed(detail) { for (const fn of [...this.listeners]) fn(detail); }

  apply(topic, data, ts) {
    const inc = normIncident(data, ts);
    if (!inc) return;
    const gone = topic === "incident.closed" || CLOSED.has(inc.status);
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

export const incidents = new IncidentStore();

export async function loadIncidents() {
  const r = await api("/api/incidents?state=open&limit=1000");
  incidents.available = r.ok;
  if (r.ok) incidents.load(itemsOf(r.data));
  else incidents.changed({ isNew: false });
}

// ---- sound: a chime for a new incident; browsers block audio until the page is used, so the
// shell shows a button that enables it instead of failing silently.
let audio = null;
function audioContext() {
  try { audio = audio || new AudioContext(); } catch (err) { audio = null; }
  return audio;
}

function soundPrompt() {
  const ctx = audioContext();
  const btn = $("#sound-prompt");
  if (btn) btn.hidden = !ctx || ctx.state === "running";
}

export function chime() {
  const ctx = audioContext();
  if (!ctx) return;
  if (ctx.state !== "running") { soundPrompt(); return; }
  const now = ctx.currentTime;
  for (const [i, freq] of [[0, 880], [1, 660]]) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.15, now + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.18 + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now + i * 0.18);
    osc.stop(now + i * 0.18 + 0.17);
  }
}

function renderStrip() {
  const list = incidents.sorted();
  const strip = $("#alarm-strip");
  if (strip) {
    $("#alarm-count").textContent = String(list.length);
    strip.dataset.count = String(list.length);
    strip.dataset.top = list.length ? String(list[0].priority) : "";
  }
  // The tab shows how many urgent alarms nobody has taken, even when another tab is in front.
  const urgent = list.filter((i) => i.priority <= 2 && i.takenById === null).length;
  const base = document.title.replace(/^\(\d+\) /, "");
  document.title = urgent ? `(${urgent}) ${base}` : base;
}

export function startIncidents() {
  incidents.onChange(renderStrip);
  live.snapshot(loadIncidents);
  live.on((topic, data, msg, isLive) => {
    if (!topic.startsWith("incident.")) return;
    incidents.apply(topic, data, msg.ts * 1000);
    if (isLive && topic === "incident.opened") chime();
  });
  $("#sound-prompt")?.addEventListener("click", async () => {
    await audioContext()?.resume();
    soundPrompt();
  });
  document.addEventListener("pointerdown", () => { if (audio && audio.state !== "running") audio.resume().then(soundPrompt); }, { once: true });
  setTimeout(soundPrompt, 500);
}
