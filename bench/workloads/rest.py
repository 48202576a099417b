"""1. REST: GET /api/tasks?limit=10 (with tasks present) and POST /api/tasks at fixed
concurrency, TaskTrek on SQLite against the aiohttp floor answering the same bodies (and, for
GET, against the precomputed-bytes floor that does no JSON work per request).
Repetitions alternate between the two servers so that drift hits both alike."""

from __future__ import annotations

import contextlib
import json

from ..config import Sizes
from ..loadgen import LoadResult, call, closed_loop, http_session, request_maker
from ..procs import Server, running
from ..report import Outcome
from ..stats import latency_summary, median_of, ratio, rounded
from ..peers.floor import PRECOMPUTED_PREFIX
from ..targets import BASELINE, FLOOR, FLOOR_BYTES, TASKTREK, Account, Context, create_tasks, new_task, register

LIST_PATH = "/api/tasks?limit=10"
ROUTES = {  # label → (method, path, expected status)
    f"GET {LIST_PATH}": ("GET", LIST_PATH, 200),
    "POST /api/tasks": ("POST", "/api/tasks", 201),
}
FLOOR_TOKEN = "unused"  # the floor reads no header; sending one keeps the requests alike
COLUMNS = ["route", "server", "req/s", "p50 ms", "p99 ms", "server CPU", "errors", "body bytes"]
MEDIAN_KEYS = ("rps", "p50_ms", "p99_ms", "server_cpu", "errors")


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("rest", f"1. REST at concurrency {sizes.rest_concurrency}, {sizes.rest_tasks} tasks present "
                              f"(median of {sizes.repetitions} x {sizes.rest_duration_s:g} s)", COLUMNS)
    async with running(ctx.tasktrek()) as tasktrek, http_session() as setup, contextlib.AsyncExitStack() as stack:
        lister, creator = await _populate(setup, tasktrek, sizes)
        servers = {TASKTREK: (tasktrek, lister, creator)}
        if ctx.baseline:
            before = await stack.enter_async_context(running(ctx.tasktrek(baseline=True)))
            servers[BASELINE] = (before, *await _populate(setup, before, sizes))
        bodies = {
            "list": await call(setup, "GET", tasktrek.url + LIST_PATH, token=lister.token),
            "created": await call(setup, "POST", tasktrek.url + "/api/tasks", token=creator.token,
                                  body=new_task(0), expect=201),
        }
        bodies_path = ctx.workdir / "floor-bodies.json"
        bodies_path.write_text(json.dumps(bodies))
        async with running(ctx.floor(bodies_path)) as floor:
            for label, (method, path, status) in ROUTES.items():
                targets = {  # name → (server, path, token)
                    name: (server, path, (lister if method == "GET" else creator).token)
                    for name, (server, lister, creator) in servers.items()
                }
                targets[FLOOR] = (floor, path, FLOOR_TOKEN)
                if method == "GET":
                    targets[FLOOR_BYTES] = (floor, PRECOMPUTED_PREFIX + path, FLOOR_TOKEN)
                _tabulate(outcome, label, *await _measure(sizes, method, status, targets))
    return outcome


async def _populate(setup, server: Server, sizes: Sizes) -> tuple[Account, Account]:
    """The listed user with its tasks, and a second user who creates (the list keeps its count)."""
    lister = await register(setup, server.url, "lister")
    creator = await register(setup, server.url, "creator")
    await create_tasks(setup, server.url, lister.token, sizes.rest_tasks)
    return lister, creator


async def _measure(sizes: Sizes, method: str, status: int, targets: dict[str, tuple[Server, str, str]]
                   ) -> tuple[dict[str, list[LoadResult]], dict[str, int]]:
    body = new_task(1) if method == "POST" else None
    async with contextlib.AsyncExitStack() as stack:
        sends, body_bytes = {}, {}
        for name, (server, path, token) in targets.items():
            session = await stack.enter_async_context(http_session(sizes.rest_concurrency))
            sends[name] = request_maker(session, method, server.url + path, token=token, body=body,
                                        expect=status)
            body_bytes[name] = await sends[name]()

        async def load(name: str, duration_s: float) -> LoadResult:
            return await closed_loop(sends[name], targets[name][0], concurrency=sizes.rest_concurrency,
                                     duration_s=duration_s, max_requests=sizes.rest_max_requests)

        for name in targets:
            await load(name, sizes.rest_warmup_s)
        runs: dict[str, list[LoadResult]] = {name: [] for name in targets}
        for _ in range(sizes.repetitions):
            for name in targets:
                runs[name].append(await load(name, sizes.rest_duration_s))
    return runs, body_bytes


def _tabulate(outcome: Outcome, label: str, runs: dict[str, list[LoadResult]], body_bytes: dict[str, int]) -> None:
    medians = {}
    for name, results in runs.items():
        reps = [{"rps": r.rps, "server_cpu": r.server_cpu, "errors": r.errors, **latency_summary(r.latencies_ms)}
                for r in results]
        m = medians[name] = {key: median_of(reps, key) for key in MEDIAN_KEYS}
        outcome.rows.append([label, name, m["rps"], m["p50_ms"], m["p99_ms"], f"{m['server_cpu']:.0%}",
                             int(m["errors"]), body_bytes[name]])
        outcome.summary.setdefault(label, {})[name] = {"median": m, "repetitions": reps, "body_bytes": body_bytes[name]}
        outcome.samples.setdefault(label, {})[name] = [rounded(r.latencies_ms) for r in results]
    ours = medians[TASKTREK]
    for floor_name, key, shown in ((FLOOR, "tasktrek_over_floor", "floor"),
                                   (FLOOR_BYTES, "tasktrek_over_bytes_floor", "bytes floor"),
                                   (BASELINE, "tasktrek_over_before", "before")):
        if floor_name not in medians:
            continue
        floor = medians[floor_name]
        ratios = {"rps": ratio(ours["rps"], floor["rps"]), "p50": ratio(ours["p50_ms"], floor["p50_ms"]),
                  "p99": ratio(ours["p99_ms"], floor["p99_ms"])}
        outcome.summary[label][key] = ratios
        outcome.rows.append([label, f"{TASKTREK} ÷ {shown}", *(f"x{ratios[k]:.2f}" for k in ("rps", "p50", "p99")),
                             "", "", ""])
