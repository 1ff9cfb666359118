// The browser's own phone: JsSIP registered over WSS as the user's PJSIP endpoint, with the SIP
// credentials the authenticated session hands out. Calls the console places for the user (a
// verification call, click-to-dial, a supervisor's listen) arrive with Asterisk's
// ``Call-Info: <sip:...>;answer-after=0`` header (asterisk-config's vigil-autoanswer pre-dial
// handler) and are answered at once, because the user asked for them; other calls ring.

const ok = { ok: true, status: 200, data: {} };
const none = { ok: false, status: 409, data: { detail: { code: "no_call" } } };

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement("script");
    el.src = src; el.onload = resolve; el.onerror = reject;
    document.head.append(el);
  });
}

// Whether an INVITE asks to be answered by itself (RFC 5373-style Call-Info answer-after).
export function autoAnswer(request) {
  const values = request?.getHeaders ? request.getHeaders("Call-Info") : [];
  return values.some((v) => /answer-after\s*=\s*0\b/i.test(v));
}

export class WebrtcPhone {
  constructor(sip, events) {
    this.mode = "webrtc";
    this.canAnswer = true; this.canHold = true; this.canMute = true;
    this.sip = sip;
    this.events = events;   // { changed(), ringing(info), ended() }
    this.session = null;
    this.registered = false;
    this.ua = null;
  }

  get ready() { return this.registered; }

  async start() {
    if (!window.JsSIP) await loadScript("/static/vendor/jssip.min.js");
    const JsSIP = window.JsSIP;
    const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(this.sip.ws_url)], uri: this.sip.uri,
      password: this.sip.password, authorization_user: this.sip.authorization_user,
      display_name: this.sip.display_name, register: true, session_timers: false });
    this.ua = ua;
    ua.on("registered", () => { this.registered = true; this.events.changed(); });
    ua.on("unregistered", () => { this.registered = false; this.events.changed(); });
    ua.on("registrationFailed", () => { this.registered = false; this.events.changed(); });
    ua.on("newRTCSession", ({ session, originator, request }) => {
      if (originator !== "remote") return;
      this.session = session;
      session.on("peerconnection", ({ peerconnection }) => {
        peerconnection.addEventListener("track", (ev) => {
          const audio = document.getElementById("remote-audio");
          if (audio) audio.srcObject = ev.streams[0];
        });
      });
      session.on("confirmed", () => this.events.changed());
      session.on("hold", () => this.events.changed());
      session.on("unhold", () => this.events.changed());
      const gone = () => { if (this.session === session) { this.session = null; this.events.ended(); } };
      session.on("ended", gone);
      session.on("failed", gone);
      if (autoAnswer(request)) session.answer({ mediaConstraints: { audio: true, video: false } });
      else this.events.ringing({ number: request.from?.uri?.user, name: request.from?.display_name });
    });
    ua.start();
    window.vigil.sip = ua;
  }

  get held() { return Boolean(this.session?.isOnHold().local); }
  get muted() { return Boolean(this.session?.isMuted().audio); }

  answer() {
    if (!this.session) return Promise.resolve(none);
    this.session.answer({ mediaConstraints: { audio: true, video: false } });
    return Promise.resolve(ok);
  }

  hangup() {
    if (!this.session) return Promise.resolve(none);
    this.session.terminate();
    return Promise.resolve(ok);
  }

  hold(on) {
    if (!this.session) return Promise.resolve(none);
    if (on) this.session.hold(); else this.session.unhold();
    return Promise.resolve(ok);
  }

  mute(on) {
    if (!this.session) return Promise.resolve(none);
    if (on) this.session.mute({ audio: true }); else this.session.unmute({ audio: true });
    this.events.changed();
    return Promise.resolve(ok);
  }

  dtmf(digit) {
    if (!this.session) return Promise.resolve(none);
    this.session.sendDTMF(digit);
    return Promise.resolve(ok);
  }

  stop() { this.ua?.stop(); }
}
