"""2. Fan-out: N sockets of one user, all joined to one task room; the time from just before
an HTTP trigger is sent to the last socket's receipt of `task:updated`.

TaskTrek's trigger is PATCH /api/tasks/<id>/status (toggling), which emits to task:<id> and
user:<owner>, each socket once. The peers get the equivalent: POST /emit with the same two
rooms and the very payload TaskTrek sent, so every server parses a request, emits to two
overlapping rooms and answers.
"""

from __future__ import annotations

import itertools
from typing import Awaitable, Callable

import aiohttp

from ..loadgen import call, http_session
from ..nodeclient import NodeSockets, now_ns
from ..procs import Server, running
from ..report import Outcome
from ..stats import latency_summary, median_of, ratio, rounded
from ..targets import BASELINE, NODE_SOCKETIO, PYTHON_SOCKETIO, TASKTREK, Context, new_task, register

EVENT = "task:updated"
PEER_USER = "bench-user"
EMIT_TIMEOUT_S = 30.0
COLUMNS = ["sockets", "server", "p50 ms", "p99 ms", "TaskTrek ÷ it (p50)", "TaskTrek ÷ it (p99)"]

Trigger = Callable[[], Awaitable[object]]


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("fanout", f"2. Fan-out: trigger to last delivery, {sizes.fanout_emits} emits "
                                f"(median of {sizes.repetitions} repetitions)", COLUMNS)
    for sockets in sizes.fanout_sockets:
        results: dict[str, list[dict]] = {}
        async with http_session() as session:
            async with running(ctx.tasktrek()) as server:
                trigger, task_id, token, payload = await _tasktrek_trigger(session, server)
                results[TASKTREK] = await _measure(ctx, session, server, sockets, token, task_id, trigger)
            if ctx.baseline:
                async with running(ctx.tasktrek(baseline=True)) as server:
                    trigger, before_task, token, _ = await _tasktrek_trigger(session, server)
                    results[BASELINE] = await _measure(ctx, session, server, sockets, token, before_task, trigger)
            for name, make in ((PYTHON_SOCKETIO, ctx.python_socketio), (NODE_SOCKETIO, ctx.node_socketio)):
                async with running(make()) as server:
                    trigger = _peer_trigger(session, server, task_id, payload)
                    results[name] = await _measure(ctx, session, server, sockets, PEER_USER, task_id, trigger)
        _tabulate(outcome, sockets, results)
    return outcome


async def _tasktrek_trigger(session: aiohttp.ClientSession, server: Server) -> tuple[Trigger, str, str, dict]:
    """Toggle one task's status; returns the trigger, the task id, the token and the payload
    TaskTrek emits (the task as REST returns it plus taskId and actor)."""
    owner = await register(session, server.url, "fanout")
    task = await call(session, "POST", server.url + "/api/tasks", token=owner.token, body=new_task(0), expect=201)
    url = f"{server.url}/api/tasks/{task['_id']}/status"
    statuses = itertools.cycle(("done", "todo"))

    async def trigger() -> object:
        return await call(session, "PATCH", url, token=owner.token, body={"status": next(statuses)})

    return trigger, task["_id"], owner.token, {**task, "taskId": task["_id"], "actor": owner.id}


def _peer_trigger(session: aiohttp.ClientSession, server: Server, task_id: str, payload: dict) -> Trigger:
    body = {"event": EVENT, "rooms": [f"task:{task_id}", f"user:{PEER_USER}"], "data": payload}

    async def trigger() -> object:
        return await call(session, "POST", server.url + "/emit", body=body)

    return trigger


async def _measure(ctx: Context, session: aiohttp.ClientSession, server: Server | list[Server], count: int,
                   token: str, task_id: str, trigger: Trigger) -> list[dict]:
    """Per repetition: the latency samples of `fanout_emits` emits, one after another. With
    several servers (cluster nodes) the sockets are shared out evenly among them. The sockets
    live in the Node client (bench/node/fanout-client.js), which reports the last receipt."""
    sizes = ctx.sizes
    servers = server if isinstance(server, list) else [server]
    count -= count % len(servers)
    sockets = await NodeSockets.open([s.url for s in servers], token, count, task_id=task_id, event=EVENT)

    async def emit() -> float:
        start = now_ns()
        await trigger()
        return (await sockets.delivered(EMIT_TIMEOUT_S) - start) / 1e6

    try:
        for _ in range(sizes.fanout_warmup_emits):
            await emit()
        reps = [[await emit() for _ in range(sizes.fanout_emits)] for _ in range(sizes.repetitions)]
        emitted = sizes.fanout_warmup_emits + sizes.fanout_emits * sizes.repetitions
        fewest, most = await sockets.close()
        if fewest != emitted or most != emitted:
            raise RuntimeError(f"{servers[0].name}: sockets got between {fewest} and {most} events, not each of {emitted} once")
    finally:
        await sockets.kill()
    return [{"samples": samples, **latency_summary(samples)} for samples in reps]


def _tabulate(outcome: Outcome, sockets: int, results: dict[str, list[dict]]) -> None:
    medians = {name: {k: median_of(reps, k) for k in ("p50_ms", "p99_ms")} for name, reps in results.items()}
    ours = medians[TASKTREK]
    for name, m in medians.items():
        vs = {k: ratio(ours[k], m[k]) for k in m}
        shown = ["", ""] if name == TASKTREK else [f"x{vs['p50_ms']:.2f}", f"x{vs['p99_ms']:.2f}"]
        outcome.rows.append([sockets, name, m["p50_ms"], m["p99_ms"], *shown])
        outcome.summary.setdefault(str(sockets), {})[name] = {
            "median": m, "tasktrek_over_it": vs,
            "repetitions": [{k: v for k, v in r.items() if k != "samples"} for r in results[name]],
        }
        outcome.samples.setdefault(str(sockets), {})[name] = [rounded(r["samples"]) for r in results[name]]
