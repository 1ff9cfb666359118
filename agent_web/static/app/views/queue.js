// The alarm queue: open incidents, most urgent first, with their age against the target.
import { errorText, post } from "../core/api.js";
import { $, toast } from "../core/dom.js";
import { duration, esc } from "../core/format.js";
import { me, named, t } from "../core/i18n.js";
import { router } from "../core/router.js";
import { incidents, loadIncidents } from "../incidents/store.js";

export function mount(root, s) {
  const rows = $("#alarm-rows", root);
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
        <td><b>${esc(named("class", inc.cls))}</b></td>
        <td>${esc(inc.zone)}</td>
        <td>${esc(named("status", inc.status))}${who}</td>
        <td class="act">${inc.takenById === me.id ? `<a class="button go" href="/incidents/${esc(inc.id)}">${esc(t("queue.continue"))}</a>`
          : inc.takenBy ? `<span class="muted">${esc(t("queue.busy"))}</span>`
          : `<button type="button" class="go" data-take="${esc(inc.id)}">${esc(t("incident.take"))}</button>`}</td>
      </tr>`;
    }).join("");
    $("#queue-empty", root).hidden = list.length > 0;
    $("#alarm-table", root).hidden = list.length === 0;
    const notice = $("#queue-notice", root);
    notice.hidden = incidents.available;
    notice.textContent = t("queue.unavailable");
    const counts = new Map();
    for (const inc of list) counts.set(inc.cls, (counts.get(inc.cls) || 0) + 1);
    $("#class-counts", root).innerHTML = [...counts.entries()]
      .map(([cls, n]) => `<li>${esc(named("class", cls))} <b>${n}</b></li>`).join("");
  };

  s.add(incidents.onChange(({ isNew, id }) => {
    if (isNew && id) {
      fresh.add(id);
      setTimeout(() => { fresh.delete(id); if (rows.isConnected) render(); }, 10000);
    }
    render();
  }));
  s.listen(rows, "click", async (ev) => {
    const take = ev.target.closest("button[data-take]");
    if (take) {
      ev.stopPropagation();
      take.disabled = true;
      const r = await post(`/api/incidents/${encodeURIComponent(take.dataset.take)}/take`);
      if (r.ok) { router.go(`/incidents/${encodeURIComponent(take.dataset.take)}`); return; }
      toast(`${t("incident.take_failed")}: ${errorText(r)}`, true);
      loadIncidents();
      return;
    }
    if (ev.target.closest("a")) return;
    const tr = ev.target.closest("tr[data-id]");
    if (tr) router.go(`/incidents/${encodeURIComponent(tr.dataset.id)}`);
  });
  s.listen(rows, "keydown", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr && ev.key === "Enter") router.go(`/incidents/${encodeURIComponent(tr.dataset.id)}`);
  });
  s.every(() => {
    const now = Date.now();
    for (const cell of rows.querySelectorAll("td.age")) {
      const age = (now - Number(cell.dataset.opened)) / 1000;
      cell.textContent = duration(age);
      cell.parentElement.classList.toggle("late", age > Number(cell.dataset.target));
    }
  }, 1000);
  render();
}
