"""6. Cluster: two TaskTrek nodes in cluster mode (one Redis, one SQLite file) against one
node on its own, both pinned to the servers' core like every server of the run.

- Fan-out: `cluster_sockets` sockets of one user in one task room, half on each node (all on
  the single node); the trigger (PATCH status) goes to the first node; trigger → last
  delivery.
- REST: POST /api/tasks and GET /api/tasks?limit=10 at fixed concurrency, the requests
  alternating between the two nodes.

Redis: TASKTREK_BENCH_REDIS_URL (default redis://127.0.0.1:6379/11), keys under a prefix of
this run's own, deleted afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid

from ..loadgen import LoadResult, closed_loop, http_session, request_maker
from ..procs import running
from ..report import Outcome
from ..stats import latency_summary, median_of, ratio, rounded
from ..targets import Context, create_tasks, new_task, register
from . import fanout

REDIS_URL = os.environ.get("TASKTREK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
ONE, TWO = "one node", "two nodes"
LIST_PATH = "/api/tasks?limit=10"
COLUMNS = ["measure", "setup", "p50 ms", "p99 ms", "req/s", "two ÷ one"]


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("cluster", f"6. Cluster: two nodes on one Redis and one SQLite file vs one node "
                                 f"(median of {sizes.repetitions} repetitions)", COLUMNS)
    prefix = f"tasktrek-bench:{uuid.uuid4().hex[:12]}:"
    try:
        fanout = {ONE: await _fanout(ctx, nodes=1, prefix=prefix), TWO: await _fanout(ctx, nodes=2, prefix=prefix)}
        rest = {ONE: await _rest(ctx, nodes=1, prefix=prefix), TWO: await _rest(ctx, nodes=2, prefix=prefix)}
    finally:
        await _forget(prefix)
    _tabulate_fanout(outcome, sizes.cluster_sockets, fanout)
    for label in rest[ONE]:
        _tabulate_rest(outcome, label, {setup: rest[setup][label] for setup in rest})
    outcome.notes.append("both setups run on the same server core: the ratios show what cluster mode costs, "
                         "not what a second machine would add")
    return outcome


@contextlib.asynccontextmanager
async def _nodes(ctx: Context, count: int, prefix: str):
    db_path = ctx.workdir / f"cluster-{uuid.uuid4().hex[:8]}.db"
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for n in range(count):
            cluster = {"TASKTREK_REDIS_URL": REDIS_URL, "TASKTREK_REDIS_PREFIX": prefix,
                       "TASKTREK_NODE_NAME": f"n{n + 1}"} if count > 1 else None
            servers.append(await stack.enter_async_context(running(ctx.tasktrek(db_path=db_path, cluster=cluster))))
        yield servers


async def _fanout(ctx: Context, *, nodes: int, prefix: str) -> list[dict]:
    async with _nodes(ctx, nodes, prefix) as servers, http_session() as session:
        trigger, task_id, token, _ = await fanout._tasktrek_trigger(session, servers[0])
        return await fanout._measure(ctx, session, servers, ctx.sizes.cluster_sockets, token, task_id, trigger)


async def _rest(ctx: Context, *, nodes: int, prefix: str) -> dict[str, list[LoadResult]]:
    sizes = ctx.sizes
    results: dict[str, list[LoadResult]] = {}
    async with _nodes(ctx, nodes, prefix) as servers, http_session() as setup:
        lister = await register(setup, servers[0].url, "cluster-lister")
        creator = await register(setup, servers[0].url, "cluster-creator")
        await create_tasks(setup, servers[0].url, lister.token, sizes.rest_tasks)
        routes = {f"GET {LIST_PATH}": ("GET", LIST_PATH, lister.token, None, 200),
                  "POST /api/tasks": ("POST", "/api/tasks", creator.token, new_task(1), 201)}
        async with http_session(sizes.rest_concurrency) as session:
            for label, (method, path, token, body, status) in routes.items():
                sends = [request_maker(session, method, s.url + path, token=token, body=body, expect=status)
                         for s in servers]
                turn = itertools.cycle(sends)

                async def send():
                    return await next(turn)()

                await closed_loop(send, servers[0], concurrency=sizes.rest_concurrency,
                                  duration_s=sizes.rest_warmup_s, max_requests=sizes.rest_max_requests)
                results[label] = [
                    await closed_loop(send, servers[0], concurrency=sizes.rest_concurrency,
                                      duration_s=sizes.rest_duration_s, max_requests=sizes.rest_max_requests)
                    for _ in range(sizes.repetitions)
                ]
    return results


async def _forget(prefix: str) -> None:
    """Delete this run's keys (redis-py is TaskTrek's own dependency)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _tabulate_fanout(outcome: Outcome, sockets: int, results: dict[str, list[dict]]) -> None:
    medians = {setup: {k: median_of(reps, k) for k in ("p50_ms", "p99_ms")} for setup, reps in results.items()}
    label = f"fan-out to {sockets} sockets"
    for setup, m in medians.items():
        outcome.rows.append([label, setup, m["p50_ms"], m["p99_ms"], "", ""])
        outcome.samples.setdefault("fanout", {})[setup] = [rounded(r["samples"]) for r in results[setup]]
    vs = {k: ratio(medians[TWO][k], medians[ONE][k]) for k in ("p50_ms", "p99_ms")}
    outcome.rows.append([label, "two ÷ one", f"x{vs['p50_ms']:.2f}", f"x{vs['p99_ms']:.2f}", "", ""])
    outcome.summary["fanout"] = {"sockets": sockets, "median": medians, "two_over_one": vs}


def _tabulate_rest(outcome: Outcome, label: str, runs: dict[str, list[LoadResult]]) -> None:
    medians = {}
    for setup, results in runs.items():
        reps = [{"rps": r.rps, "errors": r.errors, **latency_summary(r.latencies_ms)} for r in results]
        m = medians[setup] = {k: median_of(reps, k) for k in ("rps", "p50_ms", "p99_ms", "errors")}
        outcome.rows.append([label, setup, m["p50_ms"], m["p99_ms"], m["rps"], ""])
        outcome.samples.setdefault(label, {})[setup] = [rounded(r.latencies_ms) for r in results]
    rps_ratio = ratio(medians[TWO]["rps"], medians[ONE]["rps"])
    outcome.rows.append([label, "two ÷ one", "", "", "", f"x{rps_ratio:.2f}"])
    outcome.summary[label] = {"median": medians, "two_over_one_rps": rps_ratio}
