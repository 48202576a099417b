// The Node socket.io 4 peer: the same contract as bench/peers/pysocketio.py.
//   connect with auth {token} (refused without one; not verified) joins "user:<token>";
//   "join:task" {taskId} joins "task:<taskId>" and acks {ok: true};
//   POST /emit {event, rooms, data} emits once per socket across the rooms, answers data.
// Usage: node bench/node/server.js --port P
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const PING_INTERVAL_MS = 25000; // TaskTrek's defaults
const PING_TIMEOUT_MS = 20000;

const portFlag = process.argv.indexOf("--port");
const port = Number(process.argv[portFlag + 1]);
if (portFlag < 0 || !Number.isInteger(port)) {
  console.error("usage: node server.js --port P");
  process.exit(2);
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  pingInterval: PING_INTERVAL_MS,
  pingTimeout: PING_TIMEOUT_MS,
});

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  next(token ? undefined : new Error("no token provided"));
});

io.on("connection", (socket) => {
  socket.join(`user:${socket.handshake.auth.token}`);
  socket.on("join:task", (payload, ack) => {
    socket.join(`task:${payload.taskId}`);
    if (typeof ack === "function") ack({ ok: true });
  });
});

// socket.io answers /socket.io/ itself; everything else reaches this handler.
httpServer.on("request", (req, res) => {
  if (req.url.startsWith("/socket.io/")) return;
  if (req.method === "GET" && req.url === "/healthz") return sendJson(res, 200, { status: "ok" });
  if (req.method !== "POST" || req.url !== "/emit") return sendJson(res, 404, { message: "not found" });
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    io.to(body.rooms).emit(body.event, body.data);
    sendJson(res, 200, body.data);
  });
});

httpServer.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
