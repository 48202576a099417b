// The live connection: socket.io-client to the app's own endpoint, the connection line, and
// presence. The board is told when to reload (a new session, not a recovered one), of every
// task and notification event, and of who among the people on its cards is online.
import { io } from "./vendor/socket.io.esm.min.js";

const TASK_EVENTS = ["task:created", "task:updated", "task:assigned", "task:deleted", "task:restored"];
const BACK_NOTICE_MS = 4000; // how long "back online" stays before the line clears

export class Live {
  constructor({ base, token, status, onFresh, onTask, onNotifications, onUnread, onPresence, parties, onServerClosed }) {
    this.status = status;
    this.parties = parties;
    this.onPresence = onPresence;
    this.online = new Set();
    this.wasDown = false;
    this.presenceAsked = 0;
    this.setLine("Connecting to live updates…");
    // Token in the CONNECT packet, never in the URL; opted into connection-state recovery.
    this.socket = io(base.origin, { path: `${base.pathname}socket.io/`, auth: { token, recover: true } });
    this.socket.on("connect", () => {
      if (!this.socket.recovered) onFresh(); // missed events unknown: reload from the API
      this.refreshPresence();
      this.showState();
    });
    this.socket.on("disconnect", (reason) => {
      if (this.closed) return;
      this.wasDown = true;
      this.showState();
      // The server ended the session (a logout elsewhere, a shutdown): socket.io does not
      // come back by itself; the board checks its token and reconnects.
      if (reason === "io server disconnect") onServerClosed();
    });
    this.socket.on("connect_error", () => {
      this.wasDown = true;
      this.showState();
      // Refused by the server ("invalid token", "database unavailable"): no retry by itself.
      if (!this.socket.active) onServerClosed();
    });
    for (const name of TASK_EVENTS) this.socket.on(name, (task) => onTask(task));
    this.socket.on("notification:new", () => onNotifications());
    this.socket.on("notification:updated", () => onNotifications());
    this.socket.on("notification:count", ({ unread }) => onUnread(unread));
    this.socket.on("presence:online", ({ userId }) => this.setOnline(userId, true));
    this.socket.on("presence:offline", ({ userId }) => this.setOnline(userId, false));
    // The browser knows first that the network is gone; socket.io notices on its next ping.
    this.onBrowserChange = () => this.showState();
    window.addEventListener("offline", this.onBrowserChange);
    window.addEventListener("online", this.onBrowserChange);
  }

  get connected() {
    return this.socket.connected && navigator.onLine;
  }

  showState() {
    clearTimeout(this.clearTimer);
    if (!this.connected) {
      this.wasDown = true;
      this.setLine(navigator.onLine ? "Live connection lost: offline. Reconnecting…" : "You are offline: live updates are paused. Reconnecting…");
    } else if (this.wasDown) {
      this.wasDown = false;
      this.setLine("Back online: live updates resumed.");
      this.clearTimer = setTimeout(() => this.setLine(""), BACK_NOTICE_MS);
    } else {
      this.setLine("");
    }
  }

  setLine(text) {
    this.status.textContent = text;
    this.status.classList.toggle("down", /offline/.test(text));
  }

  setOnline(userId, online) {
    if (online === this.online.has(userId)) return;
    if (online) this.online.add(userId);
    else this.online.delete(userId);
    this.onPresence(new Set(this.online));
  }

  // Asks who of the people on the cards is online (the server answers for contacts only).
  refreshPresence() {
    if (!this.socket.connected) return;
    const asked = ++this.presenceAsked;
    const userIds = [...this.parties()];
    this.socket.timeout(10000).emit("presence:get", { userIds }, (error, answer) => {
      if (error || this.closed || asked !== this.presenceAsked || !Array.isArray(answer?.users)) return;
      this.online = new Set(answer.users);
      this.onPresence(new Set(this.online));
    });
  }

  reconnect() {
    if (!this.closed) this.socket.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.clearTimer);
    window.removeEventListener("offline", this.onBrowserChange);
    window.removeEventListener("online", this.onBrowserChange);
    this.socket.disconnect();
  }
}
