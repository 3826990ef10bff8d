// A minimal Socket.IO v5 client (Engine.IO v4 over one WebSocket): connect to a namespace with a
// token, emit with acknowledgement, receive events, answer pings, reconnect and rejoin rooms.
"use strict";

// Waits before asking again for a namespace the server refused with rate_limited: its retry hint,
// else doubling from BACKOFF_MS up to BACKOFF_CAP_MS. Jitter spreads out the many tabs a server
// restart or a burst refused at once, so they don't all come back in the same instant.
const BACKOFF_MS = 1000;
const BACKOFF_CAP_MS = 60000;

function retryDelay(error, attempt) {
  const hint = Number(error && error.details && error.details.retry_after);
  if (hint > 0) return hint * 1000 + Math.random() * BACKOFF_MS;
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

class TenantSocket {
  constructor(namespace, getToken) {
    this.ns = namespace;
    this.getToken = getToken;
    this.handlers = {};
    this.acks = new Map();
    this.nextId = 0;
    this.rooms = new Set();
    this.connected = false;
    this.onstatus = () => {};
    this.onrefused = async () => false;
    this.onreconnect = () => {};
    this.wasConnected = false;
    this.limited = 0; // refusals in a row answered by waiting (the backoff's attempt count)
    this.refused = 0; // other refusals since the namespace was last joined
    this.retryTimer = null;
  }

  on(event, handler) { this.handlers[event] = handler; }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/socket.io/?EIO=4&transport=websocket`);
    this.ws = ws;
    ws.onmessage = (message) => this.engine(message.data);
    ws.onclose = () => {
      if (ws !== this.ws) return; // a socket already replaced (a backoff opened the next one)
      this.connected = false;
      this.onstatus("reconnecting…");
      // A backoff under way opens the next socket itself (the server closes one left idle).
      if (!this.retryTimer) setTimeout(() => this.open(), 2000);
    };
  }

  connectNamespace() {
    this.ws.send(`40${this.ns},${JSON.stringify({ token: this.getToken() })}`);
  }

  engine(data) {
    if (data[0] === "0") this.connectNamespace();
    else if (data[0] === "2") this.ws.send("3");
    else if (data[0] === "4") this.packet(data.slice(1));
  }

  packet(data) {
    const type = data[0];
    let body = data.slice(1);
    if (body.startsWith(`${this.ns},`)) body = body.slice(this.ns.length + 1);
    if (type === "0") {
      this.connected = true;
      this.limited = 0;
      this.refused = 0;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.onstatus("live");
      this.rooms.forEach((room) => this.emit("join", { room }));
      // Events sent while this client was away never arrive: the page reads its state again.
      if (this.wasConnected) this.onreconnect();
      this.wasConnected = true;
    } else if (type === "1") {
      // The server closed the namespace: the access token expired. It closes the whole socket
      // only seconds later, and events until then would be lost; connect again at once.
      this.connected = false;
      this.onstatus("reconnecting…");
      this.reconnect();
    } else if (type === "4") {
      const refusal = JSON.parse(body);
      this.onstatus("not connected: " + (refusal.message || "refused"));
      if (refusal.data && refusal.data.code === "rate_limited") this.backOff(refusal.data);
      // Refused again with a freshly refreshed token: the token is not the reason, and asking
      // at once would only repeat the refusal (and spend a refresh) as fast as the network allows.
      else if (this.refused++ > 0) this.backOff(refusal.data, () => this.reconnect());
      else this.reconnect();
    } else if (type === "2") {
      const [event, payload] = JSON.parse(body);
      if (this.handlers[event]) this.handlers[event](payload);
    } else if (type === "3") {
      const match = body.match(/^(\d+)(.*)$/);
      const resolve = match && this.acks.get(Number(match[1]));
      if (resolve) { this.acks.delete(Number(match[1])); resolve(JSON.parse(match[2])[0]); }
    }
  }

  reconnect() {
    // Usually an expired access token: refresh it and ask for the namespace again.
    this.onrefused().then((retry) => {
      if (retry) this.connectNamespace();
    });
  }

  backOff(error, ask = () => this.connectNamespace()) {
    // Asking again at once would only be refused again (and keep the server's limit spent).
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.ws.readyState === WebSocket.OPEN) ask();
      else this.open();
    }, retryDelay(error, this.limited++));
  }

  emit(event, payload) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.ws.send(`42${this.ns},${id}${JSON.stringify([event, payload])}`);
    });
  }

  join(room) {
    this.rooms.add(room);
    return this.connected ? this.emit("join", { room }) : Promise.resolve({ ok: true, pending: true });
  }

  close() {
    // For good (signed out): no reconnect, no retry, no rooms to rejoin.
    const ws = this.ws;
    this.ws = null; // its onclose sees a replaced socket and opens no other
    this.connected = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.rooms.clear();
    if (ws) ws.close();
  }

  leaveAll() {
    this.rooms.forEach((room) => { if (this.connected) this.emit("leave", { room }); });
    this.rooms.clear();
  }
}
