// The live connection: one websocket for the whole session (/ws). Events carry a sequence
// number; on reconnect the hub replays what was missed or asks for a reload, and every
// registered snapshot loader then fetches the truth from the REST API again.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

export class Live {
  constructor() {
    this.epoch = null;
    this.seq = null;
    this.ws = null;
    this.failures = 0;
    this.heartbeat = 15;
    this.lastMessage = 0;
    this.handlers = new Set();
    this.snapshots = new Set();
    this.loading = null;
    this.pending = [];
    this.ready = false;
  }

  // Handlers get (topic, data, message, isLive); the returned function unregisters.
  on(fn) { this.handlers.add(fn); return () => this.handlers.delete(fn); }

  // A loader of REST state, run on every (re)connect; run now too when the connection is up
  // or its snapshots are being loaded (a view mounted during a reload would miss it).
  snapshot(fn) {
    this.snapshots.add(fn);
    if (this.ready || this.loading) Promise.resolve().then(fn).catch((e) => console.error(e));
    return () => this.snapshots.delete(fn);
  }

  setState(state) {
    const el = $("#live");
    document.body.dataset.live = state;
    if (el) {
      el.dataset.state = state;
      el.textContent = t(`live.${state}`);
    }
    const banner = $("#disconnected");
    if (banner) banner.hidden = state !== "disconnected";
  }

  start() {
    this.setState("connecting");
    setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN
          && Date.now() - this.lastMessage > this.heartbeat * 2500) {
        this.ws.close();  // silent for too long: treat as gone and reconnect
      }
    }, 1000);
    this.connect();
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.epoch !== null && this.seq !== null
      ? `?epoch=${encodeURIComponent(this.epoch)}&since=${this.seq}` : "";
    const ws = new WebSocket(`${proto}//${location.host}/ws${query}`);
    this.ws = ws;
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      for (const frame of data.type === "batch" ? data.frames : [data]) this.receive(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState("disconnected");
      this.retry();
    };
  }

  async retry() {
    this.failures += 1;
    if (this.failures % 3 === 0) {
      const r = await api("/api/auth/me");
      if (r.status === 401) {
        this.setState("session");
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
    }
    const delay = Math.min(500 * 2 ** Math.min(this.failures - 1, 4), 5000) * (0.8 + Math.random() * 0.4);
    setTimeout(() => this.connect(), delay);
  }

  async reload(seq) {
    this.setState("resync");
    this.loading = Promise.all([...this.snapshots].map((fn) => Promise.resolve().then(fn).catch((e) => console.error(e))));
    await this.loading;
    this.loading = null;
    this.ready = true;
    const held = this.pending;
    this.pending = [];
    for (const msg of held) this.deliver(msg, false);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.setState("connected");
    if (seq !== undefined && (this.seq === null || seq > this.seq)) this.seq = seq;
  }

  receive(msg) {
    this.lastMessage = Date.now();
    if (msg.type === "hello") {
      const fresh = this.epoch !== msg.epoch || this.seq === null;
      this.epoch = msg.epoch;
      this.heartbeat = msg.heartbeat || 15;
      this.failures = 0;
      this.setState("connected");
      if (fresh) { this.seq = msg.seq; this.reload(msg.seq); }
      return;
    }
    if (msg.type === "reload") { this.seq = msg.seq; this.reload(msg.seq); return; }
    if (msg.type === "ping") {
      if (this.seq === null || msg.seq > this.seq) this.seq = msg.seq;
      this.ws?.send(JSON.stringify({ type: "pong", seq: this.seq }));
      return;
    }
    if (msg.type === "event") {
      if (this.seq !== null && msg.seq <= this.seq) return;  // seen already
      this.seq = Math.max(this.seq ?? 0, msg.seq);
      if (this.loading) { this.pending.push(msg); return; }
      this.deliver(msg, true);
    }
  }

  deliver(msg, isLive) {
    for (const fn of [...this.handlers]) {
      try { fn(msg.topic, msg.data || {}, msg, isLive); } catch (err) { console.error(err); }
    }
  }
}

export const live = new Live();
