// Drives the official socket.io-client for the Python tests (tests/realtime/clients.py).
//
// Reads one JSON command per line on stdin, writes one JSON report per line on stdout:
//   {"cmd":"connect","id":"a","url":"http://127.0.0.1:1234","path":"/socket.io",
//    "auth":{"token":"..."},"query":{...},"extraHeaders":{...}}
//   {"cmd":"emit","id":"a","event":"join:task","args":[{"taskId":"..."}],"seq":3}  (seq → ack wanted)
//   {"cmd":"disconnect","id":"a"}
//   {"cmd":"exit"}
// Reports: {"type":"ready"}, and per socket id: connect {sid}, connect_error {message},
// event {event,args}, ack {seq,args} or ack {seq,error}, disconnect {reason}, error {message}.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const sockets = new Map();
const out = (report) => process.stdout.write(JSON.stringify(report) + "\n");

function connect({ id, url, path, auth, query, extraHeaders }) {
  const options = {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 10000,
  };
  if (path) options.path = path;
  if (auth) options.auth = auth;
  if (query) options.query = query;
  if (extraHeaders) options.extraHeaders = extraHeaders;
  const socket = io(url, options);
  sockets.set(id, socket);
  socket.on("connect", () => out({ id, type: "connect", sid: socket.id }));
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
    case "disconnect":
      sockets.get(command.id)?.disconnect();
      return;
    case "exit":
      for (const socket of sockets.values()) socket.disconnect();
      process.exit(0);
    default:
      out({ type: "error", message: `unknown command ${command.cmd}` });
  }
});
lines.on("close", () => process.exit(0));
out({ type: "ready" });
