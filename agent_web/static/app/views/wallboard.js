// The wallboard: open alarms by priority and age, and each queue's figures, live.
import { api, itemsOf } from "../core/api.js";
import { $, $$ } from "../core/dom.js";
import { duration, esc } from "../core/format.js";
import { t } from "../core/i18n.js";
import { incidents } from "../incidents/store.js";
import { mountDisaster } from "./switches.js";

const pct = (v) => (v === undefined || v === null ? "–" : `${Math.round(Number(v) * (Number(v) <= 1 ? 100 : 1))}%`);

export function mount(root, s) {
  const queues = new Map();
  const renderAlarms = () => {
    const list = incidents.sorted();
    $("#wb-open", root).textContent = String(list.length);
    const oldest = list.reduce((min, inc) => Math.min(min, inc.opened), Infinity);
    $("#wb-oldest", root).textContent = Number.isFinite(oldest) ? duration((Date.now() - oldest) / 1000) : "–";
    for (let p = 1; p <= 4; p += 1) $(`#wb-prio-${p}`, root).textContent = String(list.filter((i) => i.priority === p).length);
  };
  const renderQueues = () => {
    const box = $("#queue-tiles", root);
    if (!queues.size) { box.innerHTML = `<p class="empty">${esc(t("wall.noqueues"))}</p>`; return; }
    box.innerHTML = [...queues.values()].map((q) => `<div class="queue-card"><h3>${esc(q.name)}</h3>
      <div class="tiles">
        <div class="tile"><span class="k">${esc(t("wall.waiting"))}</span><b>${esc(q.waiting ?? 0)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.longest"))}</span><b data-wait="${esc(Number(q.longest_wait ?? 0))}" data-at="${esc(q.at ?? Date.now())}" data-waiting="${esc(q.waiting ?? 0)}">${duration(Number(q.longest_wait ?? 0))}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.sl"))}</span><b>${pct(q.service_level)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.asa"))}</span><b>${duration(Number(q.asa ?? NaN))}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.abandon"))}</span><b>${pct(q.abandon_rate)}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_free"))}</span><b>${esc(q.agents_ready ?? "–")}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_busy"))}</span><b>${esc(q.agents_busy ?? "–")}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_paused"))}</span><b>${esc(q.agents_paused ?? "–")}</b></div>
        <div class="tile"><span class="k">${esc(t("wall.agents_wrapup"))}</span><b>${esc(q.agents_wrapup ?? "–")}</b></div>
      </div></div>`).join("");
  };
  s.add(incidents.onChange(renderAlarms));
  s.every(renderAlarms, 1000);
  s.snapshot(async () => {
    const r = await api("/api/queues/live");
    queues.clear();
    if (r.ok) for (const q of itemsOf(r.data)) queues.set(q.name, { ...q, at: Date.now() });
    renderQueues();
  });
  s.every(() => {
    for (const b of $$("#queue-tiles b[data-wait]", root)) {
      const waiting = Number(b.dataset.waiting) > 0;
      const secs = Number(b.dataset.wait) + (waiting ? (Date.now() - Number(b.dataset.at)) / 1000 : 0);
      b.textContent = duration(secs);
    }
  }, 1000);
  const renderTaken = async () => {
    const r = await api("/api/alarm-stats/taken-within");
    if (!r.ok) return;
    $("#wb-taken-30", root).textContent = pct(r.data.within_30s);
    $("#wb-taken-60", root).textContent = pct(r.data.within_60s);
  };
  renderTaken();
  s.every(renderTaken, 15000);
  s.on((topic, data) => {
    if ((topic.startsWith("queue.") || topic.startsWith("wallboard.")) && data.name) {
      queues.set(data.name, { ...(queues.get(data.name) || {}), ...data, at: Date.now() });
      renderQueues();
    }
  });
  renderAlarms();
  const dm = $("#disaster", root);
  if (dm) mountDisaster(dm, s);
}
