"""5. Big data: list pages for one heavy user in a SQLite database of many users and up to a
million tasks (bench/bigdata.py builds and caches it). Requests go one at a time: this is
the latency of a page, not throughput."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from ..bigdata import HEAVY_EMAIL, HEAVY_SHARE, bigdata_db
from ..loadgen import call, clock, http_session, request_maker
from ..procs import running
from ..report import Outcome
from ..stats import MS, latency_summary, median_of, rounded
from ..targets import Context, login

PAGE_LIMIT = 20
DEEP_FRACTION = 0.9  # the deep page starts this far into the user's visible tasks
QUERIES = {
    "first page, default sort (-updatedAt)": f"limit={PAGE_LIMIT}",
    "filtered + sorted (status, priority, by dueDate)": f"status=todo,in-progress&priority=high&sort=dueDate&limit={PAGE_LIMIT}",
    "title search + sort (q, -createdAt)": f"q=invoice&sort=-createdAt&limit={PAGE_LIMIT}",
}
DEEP = "deep page (default sort)"
COLUMNS = ["query", "matches", "requests", "p50 ms", "p99 ms"]


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    db_path = await asyncio.to_thread(bigdata_db, sizes.bigdata_tasks, sizes.bigdata_users)
    outcome = Outcome("bigdata", f"5. Big data: {sizes.bigdata_tasks:,} tasks, {sizes.bigdata_users:,} users; one user's "
                                 f"pages, one request at a time (median of {sizes.repetitions} x "
                                 f"up to {sizes.bigdata_requests} or {sizes.bigdata_repetition_s:g} s)", COLUMNS)
    outcome.notes.append(f"the measured user owns ~{HEAVY_SHARE:.0%} of all tasks and is assigned others; "
                         f"the deep page starts {DEEP_FRACTION:.0%} into them")
    async with running(ctx.tasktrek(db_path=db_path)) as server, http_session() as session:
        token = await login(session, server.url, HEAVY_EMAIL)
        visible = (await call(session, "GET", f"{server.url}/api/tasks?limit=1", token=token))["total"]
        deep_page = max(1, int(visible * DEEP_FRACTION) // PAGE_LIMIT)
        queries = {**QUERIES, DEEP: f"limit={PAGE_LIMIT}&page={deep_page}"}
        for label, query in queries.items():
            url = f"{server.url}/api/tasks?{query}"
            matches = (await call(session, "GET", url, token=token))["total"]
            send = request_maker(session, "GET", url, token=token)
            await _timed(send, sizes.bigdata_warmup_requests, sizes.bigdata_repetition_s)
            reps = [await _timed(send, sizes.bigdata_requests, sizes.bigdata_repetition_s)
                    for _ in range(sizes.repetitions)]
            m = {k: median_of(reps, k) for k in ("n", "p50_ms", "p99_ms")}
            outcome.rows.append([label, matches, int(m["n"]), m["p50_ms"], m["p99_ms"]])
            outcome.summary[label] = {"query": query, "matches": matches, "median": m,
                                      "repetitions": [{k: v for k, v in r.items() if k != "samples"} for r in reps]}
            outcome.samples[label] = [r["samples"] for r in reps]
    return outcome


async def _timed(send: Callable[[], Awaitable[int | None]], count: int, duration_s: float) -> dict:
    """Requests one at a time, `count` of them or as many as fit in `duration_s` (at least one)."""
    samples = []
    deadline = clock() + duration_s
    while len(samples) < count and (not samples or clock() < deadline):
        start = clock()
        if await send() is None:
            raise RuntimeError("a list page failed")
        samples.append((clock() - start) * MS)
    return {"samples": rounded(samples), **latency_summary(samples)}
