// Drives the official socket.io-client for the Python tests (tests/realtime/clients.py: JsDriver, JsClient).
//
// Reads one JSON command per line on stdin, writes one JSON report per line on stdout:
//   {"cmd":"connect","id":"a","url":"http://127.0.0.1:1234","path":"/socket.io",
//    "auth":{"token":"..."},"query":{...},"extraHeaders":{...},"transports":["websocket"]}
//      ("transports" left out → ["websocket"]; null → socket.io-client's defaults: polling, then upgrade)
//   {"cmd":"emit","id":"a","event":"join:task","args":[{"taskId":"..."}],"seq":3}  (seq → ack wanted)
//   {"cmd":"transport","id":"a","seq":4}  (→ ack {seq,args:[current transport name]})
//   {"cmd":"disconnect","id":"a"}
//   {"cmd":"drop","id":"a"}  (socket.io.engine.close(): the connection drops, the socket may recover)
//   {"cmd":"reconnect","id":"a","auth":{...}}  (socket.connect() again; "auth" replaces socket.auth)
//   {"cmd":"exit"}
// Reports: {"type":"ready"}, and per socket id: open {transport} (Engine.IO connection open),
// upgrade {transport}, connect {sid,transport,recovered}, connect_error {message}, event {event,args},
// ack {seq,args} or ack {seq,error}, disconnect {reason}, error {message}.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const sockets = new Map();
const out = (report) => process.stdout.write(JSON.stringify(report) + "\n");

const transportOf = (socket) => socket.io.engine?.transport?.name ?? null;

function connect({ id, url, path, auth, query, extraHeaders, transports = ["websocket"] }) {
  const options = {
    reconnection: false,
    forceNew: true,
    timeout: 10000,
  };
  if (transports !== null) options.transports = transports;
  if (path) options.path = path;
  if (auth) options.auth = auth;
  if (query) options.query = query;
  if (extraHeaders) options.extraHeaders = extraHeaders;
  const socket = io(url, options);
  sockets.set(id, socket);
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    out({ id, type: "open", transport: engine.transport.name });
    engine.on("upgrade", (transport) => out({ id, type: "upgrade", transport: transport.name }));
  });
  socket.on("connect", () =>
    out({ id, type: "connect", sid: socket.id, transport: transportOf(socket), recovered: socket.recovered === true }),
  );
  socket.on("connect_error", (err) => out({ id, type: "connect_error", message: err.message }));
  socket.on("disconnect", (reason) => out({ id, type: "disconnect", reason }));
  socket.onAny((event, ...args) => out({ id, type: "event", event, args }));
}

function emit({ id, event, args = [], seq }) {
  const socket = sockets.get(id);
  if (!socket) return out({ id, type: "error", message: `no socket ${id}` });
  if (seq === undefined || seq === null) {
    socket.emit(event, ...args);
    return;
  }
  socket.timeout(10000).emit(event, ...args, (err, ...reply) => {
    if (err) out({ id, type: "ack", seq, error: err.message });
    else out({ id, type: "ack", seq, args: reply });
  });
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (err) {
    return out({ type: "error", message: `bad command: ${err.message}` });
  }
  switch (command.cmd) {
    case "connect":
      return connect(command);
    case "emit":
      return emit(command);
    case "transport": {
      const socket = sockets.get(command.id);
      return out({ type: "ack", seq: command.seq, args: [socket ? transportOf(socket) : null] });
    }
    case "disconnect":
      sockets.get(command.id)?.disconnect();
      return;
    case "drop":
      sockets.get(command.id)?.io.engine.close();
      return;
    case "reconnect": {
      const socket = sockets.get(command.id);
      if (command.auth) socket.auth = command.auth;
      socket.connect();
      return;
    }
    case "exit":
      for (const socket of sockets.values()) socket.disconnect();
      process.exit(0);
    default:
      out({ type: "error", message: `unknown command ${command.cmd}` });
  }
});
lines.on("close", () => process.exit(0));
out({ type: "ready" });
