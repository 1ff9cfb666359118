// The console application: started once per signed-in page load. The shell's parts — the live
// connection, open incidents, the phone and screen pop, the configured lists — start here and
// live for the whole session; the router swaps views inside #view.
import { api, errorText } from "./core/api.js";
import { startChoices } from "./core/choices.js";
import { $, toast } from "./core/dom.js";
import { missing, t } from "./core/i18n.js";
import { live } from "./core/live.js";
import { router } from "./core/router.js";
import { incidents, startIncidents } from "./incidents/store.js";
import { startPhone } from "./phone/phone.js";
import { startScreenpop } from "./phone/screenpop.js";
import { startKb } from "./views/kb.js";

window.vigil = { live, incidents, router, missing, started: performance.now() };

$("#lang-switch")?.addEventListener("click", async (ev) => {
  const language = ev.currentTarget.dataset.lang;
  const r = await api("/api/me/language", { method: "PATCH", body: { language } });
  if (r.ok) location.reload();
  else toast(errorText(r), true);
});

// Security alerts (a login or passcode checks locked after repeated guesses) reach only the
// supervisors' consoles (the hub filters them).
live.on((topic, data, msg, isLive) => {
  if (!isLive || topic !== "security.alert") return;
  const who = data.kind === "login_locked" ? data.username : `#${data.contact_id ?? data.account_id} (${data.operator})`;
  toast(`${t(`sec.${data.kind}`)}: ${who}`, true);
});

startChoices();
startIncidents();
startScreenpop();
startPhone();
startKb();
live.start();
router.start();
