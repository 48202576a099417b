"""3. Idle sockets: how much server memory each authenticated, idle socket costs.

Per repetition, a fresh server: a warm-up batch of sockets is opened and closed, VmRSS is
read, N sockets connect (and stay, answering pings), VmRSS is read again after a settle.
"""

from __future__ import annotations

import asyncio

from ..loadgen import close_all, connect_many, http_session
from ..procs import Server, running
from ..report import Outcome
from ..stats import median_of, ratio
from ..targets import NODE_SOCKETIO, PYTHON_SOCKETIO, TASKTREK, Context, register

SETTLE_S = 0.5  # lets the server finish per-connection work (TaskTrek's notification count, presence)
KIB = 1024
MIB = 1024 * 1024
PEER_TOKEN = "bench-user"
COLUMNS = ["server", "sockets", "RSS before MiB", "RSS after MiB", "KiB per socket", "TaskTrek ÷ it"]


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("idle", f"3. Idle sockets: server RSS per authenticated socket "
                              f"(median of {sizes.repetitions} fresh servers)", COLUMNS)
    makers = {TASKTREK: ctx.tasktrek, PYTHON_SOCKETIO: ctx.python_socketio, NODE_SOCKETIO: ctx.node_socketio}
    results = {name: [await _measure(ctx, make()) for _ in range(sizes.repetitions)] for name, make in makers.items()}
    medians = {name: {k: median_of(reps, k) for k in ("rss_before", "rss_after", "bytes_per_socket")}
               for name, reps in results.items()}
    for name, m in medians.items():
        vs = ratio(medians[TASKTREK]["bytes_per_socket"], m["bytes_per_socket"])
        outcome.rows.append([name, sizes.idle_sockets, m["rss_before"] / MIB, m["rss_after"] / MIB,
                             m["bytes_per_socket"] / KIB, "" if name == TASKTREK else f"x{vs:.2f}"])
        outcome.summary[name] = {"median": m, "tasktrek_over_it": vs, "repetitions": results[name]}
    return outcome


async def _measure(ctx: Context, server: Server) -> dict:
    sizes = ctx.sizes
    async with running(server), http_session() as session:
        token = (await register(session, server.url, "idle")).token if server.name == TASKTREK else PEER_TOKEN
        await close_all(await connect_many(sizes.idle_warmup_sockets, session, server.url, token))
        await asyncio.sleep(SETTLE_S)
        before = server.rss_bytes()
        sockets = await connect_many(sizes.idle_sockets, session, server.url, token)
        try:
            await asyncio.sleep(SETTLE_S)
            after = server.rss_bytes()
        finally:
            await close_all(sockets)
    return {"rss_before": before, "rss_after": after, "bytes_per_socket": (after - before) / sizes.idle_sockets}
