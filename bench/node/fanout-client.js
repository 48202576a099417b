// The fan-out load generator: N bare `ws` sockets speaking Engine.IO 4 / Socket.IO 5 text
// frames (as bench/loadgen.py's Socket does), so that the generator, not the server, is never
// the bottleneck when 1,000 sockets receive one event.
//   node fanout-client.js --url http://H:P [--url ...] --token T --sockets N --task ID --event E
// Sockets are shared out round-robin among the URLs; each connects with 40{"token":T} and
// joins task:ID with an acknowledged join:task. Then, on stdout, one JSON line per line:
//   {"ready": N}                  all sockets connected and joined
//   {"emit": k, "last_ns": "..."} the k-th event reached every socket; last_ns is the last
//                                 receipt on CLOCK_MONOTONIC (process.hrtime), the clock of
//                                 Python's time.monotonic_ns(), so the generator can subtract.
// A line "close" on stdin closes every socket and answers {"closed": N, "min": a, "max": b}
// (the fewest and most events any socket got); any failure prints {"error": "..."} and exits 1.
"use strict";

const readline = require("node:readline");
const WebSocket = require("ws");

const CONNECT_CONCURRENCY = 100;
const CONNECT_TIMEOUT_MS = 30000;
const WS_PATH = "/socket.io/?EIO=4&transport=websocket";

function args(argv) {
  const found = { url: [] };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (key === "url") found.url.push(argv[i + 1]);
    else found[key] = argv[i + 1];
  }
  for (const key of ["token", "sockets", "task", "event"]) {
    if (found[key] === undefined || found.url.length === 0) {
      fail("usage: node fanout-client.js --url U --token T --sockets N --task ID --event E");
    }
  }
  return found;
}

function say(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function fail(message) {
  say({ error: String(message) });
  process.exit(1);
}

const options = args(process.argv);
const count = Number(options.sockets);
const eventPrefix = `42["${options.event}"`;
const joinFrame = "420" + JSON.stringify(["join:task", { taskId: options.task }]);
const sockets = [];
let received = 0;
let emits = 0;

// One socket: resolves once connected and joined; counts `event` frames from then on.
function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws") + WS_PATH);
    const state = { ws, events: 0, joined: false };
    const timer = setTimeout(() => reject(new Error(`${url}: no join within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    ws.on("error", (err) => reject(err));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const frame = data.toString();
      if (frame.startsWith(eventPrefix)) {
        state.events += 1;
        if (++received === count * (emits + 1)) {
          emits += 1;
          say({ emit: emits, last_ns: process.hrtime.bigint().toString() });
        }
      } else if (frame === "2") {
        ws.send("3");
      } else if (frame.startsWith("0{")) {
        ws.send("40" + JSON.stringify({ token: options.token }));
      } else if (frame.startsWith("44")) {
        reject(new Error(`connection refused: ${frame}`));
      } else if (frame.startsWith("40")) {
        ws.send(joinFrame);
      } else if (frame.startsWith("430")) {
        if (frame !== '430[{"ok":true}]') reject(new Error(`join:task refused: ${frame}`));
        clearTimeout(timer);
        state.joined = true;
        resolve(state);
      }
    });
  });
}

async function connectAll() {
  let next = 0;
  async function worker() {
    while (next < count) {
      const url = options.url[next % options.url.length];
      next += 1;
      sockets.push(await open(url));
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, worker));
}

function closeAll() {
  const events = sockets.map((s) => s.events);
  for (const s of sockets) s.ws.close();
  say({ closed: sockets.length, min: Math.min(...events), max: Math.max(...events) });
  process.exit(0);
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "close") closeAll();
});
process.stdin.on("end", () => process.exit(0)); // the generator went away

connectAll().then(() => say({ ready: sockets.length }), fail);
