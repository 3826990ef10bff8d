// A minimal Socket.IO v5 client (Engine.IO v4 over one WebSocket): connect to a namespace with a
// token, emit with acknowledgement, receive events, answer pings, reconnect and rejoin rooms.
"use strict";

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
  }

  on(event, handler) { this.handlers[event] = handler; }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${scheme}://${location.host}/socket.io/?EIO=4&transport=websocket`);
    this.ws.onmessage = (message) => this.engine(message.data);
    this.ws.onclose = () => {
      this.connected = false;
      this.onstatus("reconnecting…");
      setTimeout(() => this.open(), 2000);
    };
  }

  engine(data) {
    if (data[0] === "0") this.ws.send(`40${this.ns},${JSON.stringify({ token: this.getToken() })}`);
    else if (data[0] === "2") this.ws.send("3");
    else if (data[0] === "4") this.packet(data.slice(1));
  }

  packet(data) {
    const type = data[0];
    let body = data.slice(1);
    if (body.startsWith(`${this.ns},`)) body = body.slice(this.ns.length + 1);
    if (type === "0") {
      this.connected = true;
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
      this.onstatus("not connected: " + (JSON.parse(body).message || "refused"));
      this.reconnect();
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
      if (retry) this.ws.send(`40${this.ns},${JSON.stringify({ token: this.getToken() })}`);
    });
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

  leaveAll() {
    this.rooms.forEach((room) => { if (this.connected) this.emit("leave", { room }); });
    this.rooms.clear();
  }
}
