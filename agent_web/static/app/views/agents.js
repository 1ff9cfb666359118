// The supervisor's grid: every logged-in agent with Asterisk's state, the call or incident, the
// spy sessions on it, and actions (listen, whisper, barge, force pause/ready/logout).
import { api, errorText, itemsOf, post } from "../core/api.js";
import { choiceName } from "../core/choices.js";
import { $, $$, toast } from "../core/dom.js";
import { duration, esc, timeOf } from "../core/format.js";
import { me, named, t } from "../core/i18n.js";
import { incidents } from "../incidents/store.js";
import { mountChoices } from "./choices.js";

export function mount(root, s) {
  const agents = new Map();
  const spies = new Map();   // agent user id -> live spy session
  let cti = true;
  const render = () => {
    const list = [...agents.values()].filter((a) => a.state !== "logged_out")
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const empty = $("#agents-empty", root);
    empty.hidden = list.length > 0;
    empty.textContent = cti ? t("agents.empty") : t("agents.no_cti");
    $("#agent-grid", root).hidden = list.length === 0;
    const now = Date.now();
    const taken = new Map(incidents.sorted().filter((i) => i.takenById !== null).map((i) => [String(i.takenById), i]));
    $("#agent-rows", root).innerHTML = list.map((a) => {
      const since = timeOf(a.since, NaN);
      const inc = a.user_id !== null && a.user_id !== undefined ? taken.get(String(a.user_id)) : null;
      const call = a.call ? `<span class="mono">${esc(a.call.number ?? "")}</span> ${esc(a.call.name ?? "")}` : "";
      const incident = inc ? `<a href="/incidents/${esc(inc.id)}">#${esc(inc.id)} ${esc(named("class", inc.cls))}</a>` : "";
      const spy = spies.get(String(a.user_id));
      const mine = spy && Number(spy.supervisor_user_id) === Number(me.id);
      const spyText = spy ? `<span class="spy" data-spy-mode="${esc(spy.mode)}">${esc(t(`agents.spying.${spy.mode}`))} · ${esc(spy.supervisor_name ?? spy.supervisor_extension ?? "")}</span>` : "";
      const can = a.user_id !== null && a.user_id !== undefined;
      const onCall = a.state === "in_call";
      return `<tr data-state="${esc(a.state)}" data-user="${esc(a.user_id ?? "")}" data-ext="${esc(a.extension)}"><td>${esc(a.name)}</td><td>${esc(a.extension)}</td>
        <td><span class="state state-${esc(a.state)}">${esc(t(`state.${a.state}`))}</span>${a.pause_reason ? ` · <span class="reason">${esc(choiceName("pause_code", a.pause_reason))}</span>` : ""}</td>
        <td class="mono" data-since="${since}">${duration((now - since) / 1000)}</td>
        <td>${[call, incident, spyText].filter(Boolean).join("<br>") || `<span class="muted">–</span>`}</td>
        <td class="muted">${esc((a.queues || []).join(", "))}</td>
        <td><div class="agent-actions">
          ${["listen", "whisper", "barge"].map((m) => `<button type="button" data-spy="${m}" ${can && onCall && (!spy || mine) ? "" : "disabled"} aria-pressed="${Boolean(mine && spy.mode === m)}">${esc(t(`agents.${m}`))}</button>`).join("")}
          ${mine ? `<button type="button" class="stop" data-spy-stop>${esc(t("agents.stop_spy"))}</button>` : ""}
          ${a.state === "paused" ? `<button type="button" data-force="unpause" ${can ? "" : "disabled"}>${esc(t("agents.force_ready"))}</button>`
            : `<button type="button" data-force="pause" ${can ? "" : "disabled"}>${esc(t("agents.force_pause"))}</button>`}
          <button type="button" class="stop" data-force="logout" ${can ? "" : "disabled"}>${esc(t("agents.force_logout"))}</button>
        </div></td></tr>`;
    }).join("");
  };
  const key = (a) => String(a.interface ?? a.extension);
  const load = async () => {
    const [r, sp] = await Promise.all([api("/api/console/agents"), api("/api/cti/spies")]);
    agents.clear();
    cti = r.ok;
    if (r.ok) for (const a of itemsOf(r.data)) agents.set(key(a), a);
    spies.clear();
    if (sp.ok) for (const x of itemsOf(sp.data)) spies.set(String(x.agent_user_id), x);
    render();
  };
  s.snapshot(load);
  s.on((topic, data) => {
    if (topic === "agent.state") {
      const k = key(data);
      const old = agents.get(k) || {};
      agents.set(k, { ...old, ...data, call: data.state === "in_call" || data.state === "ringing" ? old.call : null });
      render();
      if ((data.state === "in_call" || data.state === "ringing") && !old.call) load();  // who the call is with
    } else if (topic === "call.ended" || topic.startsWith("spy.")) load();
  });
  s.add(incidents.onChange(render));
  s.listen($("#agent-rows", root), "click", async (ev) => {
    const b = ev.target.closest("button[data-spy], button[data-force], button[data-spy-stop]");
    if (!b) return;
    const uid = Number(b.closest("tr").dataset.user);
    if (b.hasAttribute("data-spy-stop")) {
      const r = await post("/api/cti/spy/stop");
      if (!r.ok) toast(errorText(r), true);
      load();
      return;
    }
    if (b.dataset.spy) {
      // already listening to this agent: the same call switches mode (ChanSpy's keys)
      const live = spies.get(String(uid));
      const r = live && Number(live.supervisor_user_id) === Number(me.id)
        ? await post("/api/cti/spy/mode", { mode: b.dataset.spy })
        : await post("/api/cti/spy", { agent_user_id: uid, mode: b.dataset.spy });
      if (!r.ok) toast(errorText(r), true);
      load();
      return;
    }
    const what = b.dataset.force;
    if (what === "logout" && !confirm(t("agents.confirm_logout"))) return;
    const r = await post(`/api/console/agents/${uid}/${what}`, what === "pause" ? { reason: "supervisor" } : {});
    if (!r.ok) toast(errorText(r), true);
    load();
  });
  s.every(() => {
    const now = Date.now();
    for (const cell of $$("#agent-rows td[data-since]", root)) cell.textContent = duration((now - Number(cell.dataset.since)) / 1000);
  }, 1000);
  render();
  for (const box of $$("[data-kind].choices", root)) mountChoices(box, s);
}
