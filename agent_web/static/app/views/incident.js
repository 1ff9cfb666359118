// One incident: its signals and zones, the action plan, the call list with the verification
// calls placed from it (their progress and outcome come from the calls themselves; the operator
// adds who answered, the passcode check and a note), dispatch and closing.
//
// What the operator typed and has not saved yet is kept per incident in sessionStorage, so a
// reload or a trip to another view loses nothing.
import { api, errorText, itemsOf, post } from "../core/api.js";
import { $, $$, toast } from "../core/dom.js";
import { duration, esc, fmtTime, timeOf } from "../core/format.js";
import { me, named, t } from "../core/i18n.js";
import { normIncident } from "../incidents/store.js";

const STAGES = [
  ["opened_at", "timer.received"], ["shown_at", "timer.shown"], ["taken_at", "timer.taken"],
  ["first_call_at", "timer.first_call"], ["dispatched_at", "timer.dispatched"], ["closed_at", "timer.closed"],
];
const LIVE_STAGES = new Set(["dialing", "own_answered", "ringing", "answered"]);

// Drafts of unsaved forms, per form key, for this browser tab.
const drafts = {
  get(key) { try { return JSON.parse(sessionStorage.getItem(`vigil.draft.${key}`) || "null"); } catch (e) { return null; } },
  set(key, value) { sessionStorage.setItem(`vigil.draft.${key}`, JSON.stringify(value)); },
  drop(key) { sessionStorage.removeItem(`vigil.draft.${key}`); },
};

function keepDraft(form, key) {
  const saved = drafts.get(key);
  if (saved) {
    for (const [name, value] of Object.entries(saved)) {
      const el = form.elements[name];
      if (!el || el.type === "password") continue;
      if (el.type === "checkbox") el.checked = Boolean(value); else el.value = value;
    }
  }
  form.addEventListener("input", () => {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "password" || el.type === "submit") continue;
      data[el.name] = el.type === "checkbox" ? el.checked : el.value;
    }
    drafts.set(key, data);
  });
}

export async function mount(root, s) {
  const id = $("#incident", root).dataset.incidentId;
  const notice = $("#incident-notice", root);
  const o = await api("/api/console/options");
  const opts = o.ok ? o.data : { dispositions: [], false_alarm_causes: [], steps: {} };
  let inc = null;
  let callList = null;
  const progress = new Map();  // verification call id -> latest call.progress
  const show = (text) => { notice.hidden = !text; notice.textContent = text || ""; };
  const mine = () => inc && inc.taken_by === me.id;
  const open = () => inc && inc.status !== "closed";
  const canWork = () => open() && (mine() || (inc.taken_by && me.role !== "agent"));

  async function act(path, body, okText) {
    const r = await post(path, body ?? {});
    if (!r.ok) { show(errorText(r)); toast(errorText(r), true); } else { show(""); if (okText) toast(okText); }
    await load();
    return r;
  }

  function renderTimers() {
    const box = $("#incident-timers", root);
    let prev = null;
    const start = timeOf(inc.opened_at, NaN);
    const now = Date.now();
    box.innerHTML = STAGES.map(([field, key]) => {
      const at = inc[field] ? timeOf(inc[field], NaN) : NaN;
      let took = "";
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
    $("#incident-summary", root).innerHTML = `<span class="badge prio-${n.priority}">P${n.priority} ${esc(t(`prio.${n.priority}`))}</span>
      <b class="cls">${esc(named("class", n.cls))}</b> ${inc.account_id ? `<a href="/subscribers/${inc.account_id}">${esc(n.account)}</a>` : `<span>${esc(n.account)}</span>`}
      <span class="status status-${esc(inc.status)}">${esc(named("status", inc.status))}</span>
      ${inc.duress ? `<span class="badge prio-1">${esc(t("incident.duress"))}</span>` : ""}`;
    const owner = $("#incident-owner", root);
    if (!inc.taken_by) owner.innerHTML = open() ? `<span class="muted">${esc(t("incident.unowned"))}</span>` : "";
    else if (mine()) owner.innerHTML = `<b class="ok">${esc(t("incident.yours"))}</b>`;
    else owner.innerHTML = `<b class="warn">${esc(t("incident.taken_by"))} ${esc(inc.taken_by_name)}</b>`;
    $("#take-btn", root).hidden = !(open() && !inc.taken_by);
    $("#release-btn", root).hidden = !(open() && mine());
    for (const el of $$("[data-needs-owner]", root)) el.disabled = !canWork();
    const hint = open() && !mine() ? (inc.taken_by ? `${t("incident.taken_by")} ${inc.taken_by_name}` : t("incident.take_first")) : "";
    document.body.dataset.owner = mine() ? "me" : inc.taken_by ? "other" : "none";
    if (hint && notice.hidden) show(hint);
    if (!hint && notice.textContent === t("incident.take_first")) show("");
  }

  function renderSignals() {
    const zones = Object.entries(inc.zones || {});
    const zoneHtml = zones.length ? `<ul class="zones">${zones.map(([z, v]) => `<li class="zone zone-${esc(v.state)}">
      <b>${esc(t("queue.col.zone"))} ${esc(z)}</b> ${v.kind ? esc(named("class", v.kind)) : ""}
      <span class="muted">${esc(v.state === "restored" ? t("zone.restored") : t("zone.active"))}</span></li>`).join("")}</ul>` : "";
    const rows = (inc.signals || []).map((sg) => `<tr><td>${esc(fmtTime(sg.received_at))}</td>
      <td class="mono">${esc(sg.event_system ?? "")} ${esc(sg.event_code ?? "")}</td>
      <td>${esc(named("class", sg.kind ?? ""))}${sg.qualifier === "restore" ? ` (${esc(t("zone.restored"))})` : ""}</td>
      <td>${esc(sg.zone ?? "")}</td><td>${esc(sg.user ?? "")}</td></tr>`).join("");
    $("#incident-signals", root).innerHTML = zoneHtml + (rows ? `<table class="grid small"><thead><tr>
      <th>${esc(t("sig.time"))}</th><th>${esc(t("sig.code"))}</th><th>${esc(t("sig.kind"))}</th>
      <th>${esc(t("queue.col.zone"))}</th><th>${esc(t("sig.user"))}</th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p class="empty">${esc(t("common.none"))}</p>`);
  }

  // The plan: a step that places a call has its call button (the premises line, or the next
  // number of the call list); the others are ticked by hand.
  function renderPlan() {
    const steps = inc.steps || [];
    $("#incident-plan", root).innerHTML = steps.length ? steps.map((st, i) => {
      const callButton = st.done ? "" : st.step === "call_premises"
        ? `<button type="button" class="call" data-plan-call="premises" data-step="${i}" data-needs-owner>${esc(t("incident.call"))}</button>`
        : (st.step === "call_list" || st.step === "ecv")
          ? `<button type="button" class="call" data-plan-call="next" data-step="${i}" data-needs-owner>${esc(t("incident.call_next"))}</button>` : "";
      return `<li class="${st.done ? "done" : ""}" data-step-kind="${esc(st.step)}">
        <label><input type="checkbox" data-tick="${i}" ${st.done ? "checked disabled" : "data-needs-owner"}> ${esc(named("step", st.step))}</label>
        ${callButton}
        ${st.done ? `<span class="muted">${esc(st.done_by ?? "")} ${esc(fmtTime(st.done_at))}</span>` : ""}</li>`;
    }).join("") : `<li class="empty">${esc(t("common.none"))}</li>`;
  }

  function renderCallList() {
    const box = $("#incident-calllist", root);
    if (!callList) { box.innerHTML = `<p class="empty">${esc(t("incident.no_calllist"))}</p>`; return; }
    const called = new Set((inc.calls || []).map((c) => c.number));
    box.innerHTML = `<ol class="calllist">${callList.map((c) => `<li>
      <div><b>${esc(c.order === 0 ? t("incident.premises_line") : c.name)}</b>
        <span class="muted">${esc(named("contact", c.role))}${c.has_passcode ? "" : ` · ${esc(t("incident.no_passcode"))}`}</span></div>
      ${(c.phones || []).map((p) => `<div class="phone-row"><span class="mono">${esc(p.e164)}</span>
        <button type="button" class="call" data-needs-owner data-call="${esc(p.e164)}"
          data-contact="${c.contact_id ?? ""}" data-name="${esc(c.order === 0 ? "" : c.name)}">${esc(called.has(p.e164) ? t("incident.call_again") : t("incident.call"))}</button></div>`).join("")}
    </li>`).join("")}</ol>`;
  }

  // A verification call's line: what the call is doing now (live progress) or what it did.
  function callStatus(c) {
    const p = progress.get(String(c.id));
    if (!c.result && p && LIVE_STAGES.has(p.stage)) return { live: true, text: t(`stage.${p.stage}`), key: p.stage };
    if (c.result) {
      const cause = c.result !== "answered" && c.cause ? ` · ${t(`callcause.${c.cause}`)}` : "";
      const ongoing = c.result === "answered" && !c.completed_at;
      return { live: ongoing, text: `${t(`result.${c.result}`)}${cause}`, key: c.result };
    }
    return { live: true, text: t("stage.requested"), key: "requested" };
  }

  function renderCalls() {
    const calls = inc.calls || [];
    const box = $("#incident-calls", root);
    box.innerHTML = calls.length ? calls.map((c) => {
      const st = callStatus(c);
      const check = c.code_result && c.code_result !== "none"
        ? ` · <b class="code-${esc(c.code_result)}">${esc(t(`code.${c.code_result}`))}</b>` : "";
      const form = c.result === "answered" && open() ? `<form class="check-form" data-call-id="${c.id}">
        <label>${esc(t("check.answered_by"))} <input name="answered_by" maxlength="200" list="answerers" value="${esc(c.answered_by ?? c.contact_name ?? "")}" data-needs-owner></label>
        <div class="code-row"><label class="code-field">${esc(t("result.code"))} <input name="code" type="password" autocomplete="off" maxlength="64" data-needs-owner></label>
          <button type="submit" name="what" value="check" data-needs-owner>${esc(t("check.code"))}</button></div>
        <label>${esc(t("close.note"))} <input name="note" maxlength="2000" value="${esc(c.note ?? "")}" data-needs-owner></label>
        <button type="submit" name="what" value="save" data-needs-owner>${esc(t("result.save"))}</button></form>` : "";
      return `<div class="call-card" data-call-id="${c.id}" data-result="${esc(c.result ?? "")}" data-stage="${esc(st.key)}">
        <div><b>${esc(c.contact_name || t("incident.premises_line"))}</b> <span class="mono">${esc(c.number)}</span>
        <span class="muted">${esc(fmtTime(c.requested_at))}</span></div>
        <div class="call-status ${st.live ? "live" : ""}"><b>${esc(st.text)}</b>${check}
          ${c.answered_by ? ` · <span>${esc(t("check.answered_by"))}: ${esc(c.answered_by)}</span>` : ""}
          ${c.talk_seconds ? ` · <span class="mono">${duration(c.talk_seconds)}</span>` : ""}</div>${form}</div>`;
    }).join("") + `<datalist id="answerers">${(callList || []).filter((c) => c.order !== 0).map((c) => `<option value="${esc(c.name)}">`).join("")}</datalist>`
      : `<p class="empty">${esc(t("incident.no_calls"))}</p>`;
    for (const form of $$("form.check-form", box)) keepDraft(form, `call.${form.dataset.callId}`);
  }

  let dispatchForm = null;
  async function renderDispatch() {
    const box = $("#incident-dispatch", root);
    if (!dispatchForm) {
      dispatchForm = document.createElement("form");
      dispatchForm.className = "stack";
      dispatchForm.id = "dispatch-form";
      dispatchForm.innerHTML = `${["audio_video", "threat_to_property", "threat_to_life"].map((k) => `<label class="choice"><input type="checkbox" name="${k}" data-needs-owner> ${esc(t(`avs.${k}`))}</label>`).join("")}
        <div class="avs" id="avs-preview"></div>
        <label>${esc(t("dispatch.reference"))} <input name="reference" maxlength="64" data-needs-owner></label>
        <div class="buttons"><button type="submit" name="kind" value="guard" data-needs-owner>${esc(t("dispatch.guard"))}</button>
        <button type="submit" name="kind" value="police" class="stop" data-needs-owner>${esc(t("dispatch.police"))}</button></div>
        <div id="dispatch-list"></div>`;
      box.append(dispatchForm);
      keepDraft(dispatchForm, `dispatch.${id}`);
      dispatchForm.addEventListener("change", () => preview());
      dispatchForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = new FormData(dispatchForm);
        const r = await act(`/api/incidents/${id}/dispatches`, {
          kind: ev.submitter?.value ?? "guard", reference: f.get("reference") || "",
          audio_video: f.has("audio_video"), threat_to_property: f.has("threat_to_property"),
          threat_to_life: f.has("threat_to_life") }, t("dispatch.sent"));
        if (r.ok) drafts.drop(`dispatch.${id}`);
      });
    }
    $("#dispatch-list", root).innerHTML = (inc.dispatches || []).map((d) => `<div class="call-card">
      <b>${esc(t(`dispatch.${d.kind}`))}</b> · ${esc(fmtTime(d.dispatched_at))} · ${esc(d.dispatched_by)}
      <span class="badge avs-${d.avs_score}">AVS-01 ${esc(d.avs_score)}</span></div>`).join("");
    await preview();
  }

  async function preview() {
    if (!dispatchForm) return;
    const f = new FormData(dispatchForm);
    const q = ["audio_video", "threat_to_property", "threat_to_life"].map((k) => `${k}=${f.has(k)}`).join("&");
    const r = await api(`/api/console/incidents/${id}/avs-preview?${q}`);
    $("#avs-preview", root).innerHTML = r.ok ? `<span class="badge avs-${r.data.level}">AVS-01 ${esc(r.data.level)}</span>
      <span class="muted">${esc(t(`avs.level.${r.data.level}`))}</span>
      <ul>${r.data.reasons.map((x) => `<li>${esc(t(`avs.reason.${x}`))}</li>`).join("")}</ul>` : "";
  }

  let closeReady = false;
  function renderClose() {
    const form = $("#close-form", root);
    const disp = form.elements.disposition, cause = form.elements.cause;
    if (!closeReady) {
      closeReady = true;
      disp.innerHTML = `<option value="">${esc(t("close.choose"))}</option>` + opts.dispositions.map((d) => `<option value="${esc(d)}">${esc(t(`disp.${d}`))}</option>`).join("");
      cause.innerHTML = `<option value="">${esc(t("close.choose"))}</option>` + opts.false_alarm_causes.map((c) => `<option value="${esc(c)}">${esc(t(`cause.${c}`))}</option>`).join("");
      for (const el of form.elements) el.setAttribute("data-needs-owner", "");
      keepDraft(form, `close.${id}`);
    }
    const needCause = disp.value === "false_alarm";
    $("#cause-label", root).hidden = !needCause;
    cause.required = needCause;
    form.hidden = !open();
  }

  function renderAll() {
    renderSignals(); renderPlan(); renderCallList(); renderCalls(); renderClose(); renderTimers();
    renderDispatch();
    renderHead();
  }

  async function load() {
    const r = await api(`/api/incidents/${encodeURIComponent(id)}`);
    if (!r.ok) { show(errorText(r)); return; }
    inc = r.data;
    if (callList === null && inc.account_id) {
      const c = await api(`/api/accounts/${inc.account_id}/call-list`);
      callList = c.ok ? itemsOf(c.data) : null;
    }
    if (!root.isConnected) return;
    renderAll();
    if (!inc.shown_at && open()) post(`/api/incidents/${id}/shown`);
  }

  const placeCall = (body, what) => act(`/api/incidents/${id}/calls`, body, `${t("incident.calling")} ${what}`);

  s.listen($("#take-btn", root), "click", () => act(`/api/incidents/${id}/take`, {}, t("incident.taken_ok")));
  s.listen($("#release-btn", root), "click", () => act(`/api/incidents/${id}/release`, {}, t("incident.released_ok")));
  s.listen($("#incident-plan", root), "change", (ev) => {
    const box = ev.target.closest("input[data-tick]");
    if (box) act(`/api/incidents/${id}/steps/${box.dataset.tick}`, {});
  });
  s.listen($("#incident-plan", root), "click", (ev) => {
    const b = ev.target.closest("button[data-plan-call]");
    if (!b) return;
    const step = Number(b.dataset.step);
    if (b.dataset.planCall === "next") { placeCall({ next: true, step }, ""); return; }
    const premises = (callList || []).find((c) => c.order === 0);
    const number = premises?.phones?.[0]?.e164;
    if (!number) { toast(t("incident.no_premises_line"), true); return; }
    placeCall({ number, contact_id: null, contact_name: "", step }, number);
  });
  s.listen($("#incident-calllist", root), "click", (ev) => {
    const b = ev.target.closest("button[data-call]");
    if (!b) return;
    placeCall({ number: b.dataset.call, contact_id: b.dataset.contact ? Number(b.dataset.contact) : null,
      contact_name: b.dataset.name || "" }, `${b.dataset.name} ${b.dataset.call}`);
  });
  s.listen($("#incident-calls", root), "submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const f = new FormData(form);
    const code = String(f.get("code") || "").trim();
    const body = { answered_by: String(f.get("answered_by") || "").trim() || null,
      note: String(f.get("note") || "").trim() || null, code: code || null };
    const r = await post(`/api/calls/${form.dataset.callId}/result`, body);
    if (!r.ok) { toast(errorText(r), true); show(errorText(r)); return; }
    drafts.drop(`call.${form.dataset.callId}`);
    const cr = r.data.call?.code_result;
    if (code && cr) toast(`${t(`code.${cr}`)}${cr === "duress" ? ` — ${t("code.duress_hint")}` : ""}`, cr !== "valid");
    else toast(t("result.saved"));
    await load();
  });
  const closeForm = $("#close-form", root);
  s.listen(closeForm, "change", renderClose);
  s.listen(closeForm, "submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const disposition = f.get("disposition");
    const r = await act(`/api/incidents/${id}/close`, { disposition, cause: disposition === "false_alarm" ? f.get("cause") : null,
      note: f.get("note") || null }, t("incident.closed_ok"));
    if (r.ok) { document.body.dataset.closed = "1"; drafts.drop(`close.${id}`); }
  });
  s.snapshot(load);
  s.on((topic, data) => {
    if (topic === "call.progress" && data.kind === "verification" && String(data.incident_id) === String(id)) {
      progress.set(String(data.verification_id), data);
      if (inc) renderCalls(), renderHead();
      return;
    }
    const about = String(data.incident?.id ?? data.incident_id ?? "");
    if (about === String(id) && (topic.startsWith("incident.") || topic.startsWith("dispatch.") || topic.startsWith("verification."))) load();
  });
  s.every(() => {
    for (const el of $$("#incident-timers .running", root)) el.textContent = duration((Date.now() - Number(el.dataset.since)) / 1000);
  }, 1000);
}
