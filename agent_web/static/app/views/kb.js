// The knowledge base in the dock, searchable during a call from any view.
import { api, errorText, itemsOf } from "../core/api.js";
import { $ } from "../core/dom.js";
import { esc } from "../core/format.js";
import { t } from "../core/i18n.js";

export function startKb() {
  const form = $("#kb-form");
  if (!form) return;
  const out = $("#kb-results");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = String(new FormData(form).get("q") || "").trim();
    const r = await api(`/api/kb?q=${encodeURIComponent(q)}&limit=8`);
    if (!r.ok) { out.innerHTML = `<p class="muted">${esc(errorText(r))}</p>`; return; }
    const items = itemsOf(r.data);
    out.innerHTML = items.length ? `<ul class="kb-list">${items.map((a) => `<li><a href="#" data-kb="${a.id}">${esc(a.title)}</a>
      <span class="muted">${esc((a.tags || []).join(", "))}</span></li>`).join("")}</ul>`
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
