// The phone itself, by mode. The console's controls call the same five methods whatever the
// phone is: the demo's simulated phone (pbxsim, driven through the console's API as a handset
// would be), a desk phone (the console can only send CTI commands; answering and holding
// are done on the handset), or the browser's own WebRTC phone (webrtc.js).
import { post } from "../core/api.js";

export class PbxsimPhone {
  constructor() { this.mode = "pbxsim"; this.canAnswer = true; this.canHold = true; this.canMute = true; }
  get ready() { return true; }
  answer() { return post("/api/console/phone/answer"); }
  hangup() { return post("/api/console/phone/hangup"); }
  hold(on) { return post(`/api/console/phone/${on ? "hold" : "unhold"}`); }
  mute(on) { return post(`/api/console/phone/${on ? "mute" : "unmute"}`); }
  dtmf(digit) { return post("/api/console/phone/dtmf", { digits: digit }); }
}

export class DeskPhone {
  constructor() { this.mode = "desk"; this.canAnswer = false; this.canHold = false; this.canMute = false; }
  get ready() { return true; }
  answer() { return Promise.resolve({ ok: false, status: 409, data: { detail: { code: "answer_on_desk_phone" } } }); }
  hangup() { return post("/api/cti/hangup"); }
  hold() { return Promise.resolve({ ok: false, status: 409, data: { detail: { code: "hold_on_desk_phone" } } }); }
  mute() { return Promise.resolve({ ok: false, status: 409, data: { detail: { code: "mute_on_desk_phone" } } }); }
  dtmf(digit) { return post("/api/cti/dtmf", { digits: digit }); }
}
