// Tickets: the list with SLA colours, transitions, and a new ticket.
import { api, errorText, itemsOf, post } from "../core/api.js";
import { $, toast } from "../core/dom.js";
import { esc, fmtDate } from "../core/format.js";
import { me, t } from "../core/i18n.js";

const TICKET_ACTIONS = { recorded: ["assign"], assigned: ["start", "assign"], in_progress: ["finish"],
  done: ["close", "rework"], rework: ["start", "assign"], closed: [] };

export function mount(root, s) {
  const rows = $("#ticket-rows", root);
  const filter = $("#ticket-filter", root);
  const load = async () => {
    const status = filter.value;
    const r = await api(`/api/tickets?limit=200${status === "open" ? "&open_only=true" : status ? `&status=${status}` : ""}`);
    if (!r.ok) { rows.innerHTML = `<tr><td colspan="7">${esc(errorText(r))}</td></tr>`; return; }
    const items = itemsOf(r.data);
    $("#tickets-empty", root).hidden = items.length > 0;
    rows.innerHTML = items.map((tk) => {
      const actions = (TICKET_ACTIONS[tk.status] || []).filter((a) => me.role !== "agent" || ((a === "start" || a === "finish") && tk.assignee_id === me.id));
      return `<tr data-sla="${esc(tk.sla)}"><td><span class="sla sla-${esc(tk.sla)}">${esc(t(`sla.${tk.sla}`))}</span></td>
        <td>#${tk.id}</td><td>${esc(tk.subject)}<span class="muted"> · ${esc(t(`tkind.${tk.kind}`))}</span></td>
        <td>${esc(t(`ticket.${tk.status}`))}</td><td>${esc(fmtDate(tk.due_at))}</td><td>${esc(tk.assignee_id ?? "–")}</td>
        <td>${actions.map((a) => `<button type="button" data-ticket="${tk.id}" data-action="${a}">${esc(t(`tact.${a}`))}</button>`).join(" ")}</td></tr>`;
    }).join("");
  };
  s.listen(filter, "change", load);
  s.listen(rows, "click", async (ev) => {
    const b = ev.target.closest("button[data-ticket]");
    if (!b) return;
    const body = { action: b.dataset.action };
    if (b.dataset.action === "assign") body.assignee_id = me.id;
    const r = await post(`/api/tickets/${b.dataset.ticket}/transition`, body);
    if (!r.ok) toast(errorText(r), true);
    load();
  });
  s.listen($("#ticket-new", root), "submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const r = await post("/api/tickets", { kind: f.get("kind"), subject: f.get("subject"), body: f.get("body") || "" });
    toast(r.ok ? `${t("pop.ticket_made")} #${r.data.id}` : errorText(r), !r.ok);
    if (r.ok) { ev.target.reset(); load(); }
  });
  s.snapshot(load);
}
