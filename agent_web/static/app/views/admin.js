// Administration: users, queues and their members, action plans, receivers and DC-09 keys, the
// blacklist, the configured lists and disaster mode.
import { api, errorText, itemsOf, post } from "../core/api.js";
import { $, $$, formJson, toast } from "../core/dom.js";
import { esc, fmtTime } from "../core/format.js";
import { me, named, t } from "../core/i18n.js";
import { mountChoices } from "./choices.js";
import { mountBlacklist, mountDisaster } from "./switches.js";

export function mount(root, s) {
  initUsers(s);
  initQueuesAdmin(s);
  initPlans(s);
  initReceivers(s);
  mountBlacklist($("#blacklist", root), s);
  mountDisaster($("#disaster", root), s);
  for (const box of $$("[data-kind].choices", root)) mountChoices(box, s);
}

function initUsers(s) {
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
      const r = await post(`/api/users/${id}/archive`);
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
    const r = await post("/api/users", formJson(ev.target));
    toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    if (r.ok) ev.target.reset();
    load();
  });
  load();
}

function initQueuesAdmin(s) {
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
  s.snapshot(load);
  s.on((topic) => { if (topic === "agent.state") load(); });
}

function initPlans(s) {
  const box = $("#plans");
  const form = $("#plan-form");
  let steps = {};
  let plans = [];
  let editing = null;
  const stepName = (step) => named("step", step);
  const load = async () => {
    const [o, r] = await Promise.all([api("/api/console/options"), api("/api/action-plans")]);
    steps = o.ok ? o.data.steps : {};
    $("#plan-steps").innerHTML = Object.keys(steps).map((step) => `<label class="choice"><input type="checkbox" name="steps" value="${esc(step)}"> ${esc(stepName(step))}</label>`).join("");
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
      const r = await post(`/api/action-plans/${id}/archive`);
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
    const r = await post("/api/action-plans", body);
    if (!r.ok) { toast(errorText(r), true); return; }
    if (editing !== null) await post(`/api/action-plans/${editing}/archive`);
    toast(t("admin.saved"));
    form.reset();
    load();
  });
  load();
}

function initReceivers(s) {
  const keys = $("#rx-keys tbody");
  const eps = $("#rx-endpoints tbody");
  const plain = $("#rx-plaintext tbody");
  const load = async () => {
    const [k, e, p] = await Promise.all([api("/api/receivers/dc09-keys"), api("/api/receivers"), api("/api/receivers/dc09-plaintext")]);
    // the accounts that report unencrypted (or without a timestamp): candidates for a key
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
    const r = await post("/api/receivers/dc09-keys", { receiver: "", ...body });
    toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    if (r.ok) ev.target.reset();
    load();
  });
  $("#rx-endpoint-new").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = formJson(ev.target);
    if (body.port !== undefined) body.port = Number(body.port);
    const r = await post("/api/receivers", body);
    toast(r.ok ? t("admin.saved") : errorText(r), !r.ok);
    if (r.ok) ev.target.reset();
    load();
  });
  load();
}

