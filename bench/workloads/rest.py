"""1. REST: TaskTrek on SQLite against the aiohttp floor answering the same bodies (and against
the precomputed-bytes floor that does no JSON work per request), at fixed concurrency:

- `GET /api/tasks?limit=10`, repeated reads of one user with 1,000 tasks;
- the same at low concurrency (`rest_latency_concurrency`): the latency phase, where a
  request's time is its own cost rather than its wait behind 63 others (Little's law);
- `POST /api/tasks` (another user, so that the listed user's count stays 1,000);
- `PUT /api/tasks/<id>` (a third user editing its own tasks in turn, each a real change);
- a write then a read of the same user, in turn (`PUT` one of the listed user's tasks, then
  `GET` its list, which must show the change): nothing a read may have cached survives.

With `--baseline`, an earlier TaskTrek (*TaskTrek before*) gets the same set-up and every
phase too. Repetitions alternate between the servers so that drift hits all alike."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Awaitable, Callable

from ..config import Sizes
from ..loadgen import LoadResult, call, closed_loop, edit_maker, http_session, in_turn, request_maker
from ..procs import Server, running
from ..report import Outcome
from ..stats import latency_summary, median_of, ratio, rounded
from ..peers.floor import PRECOMPUTED_PREFIX
from ..targets import BASELINE, FLOOR, FLOOR_BYTES, TASKTREK, Account, Context, create_tasks, new_task, register

LIST_PATH = "/api/tasks?limit=10"
LIST_LABEL = f"GET {LIST_PATH}"
CREATE_LABEL = "POST /api/tasks"
UPDATE_LABEL = "PUT /api/tasks/<id>"
WRITE_READ_LABEL = "PUT, then GET list (pairs/s)"
FLOOR_TOKEN = "unused"  # the floor reads no header; sending one keeps the requests alike
COLUMNS = ["route", "server", "req/s", "p50 ms", "p99 ms", "server CPU", "errors", "body bytes"]
MEDIAN_KEYS = ("rps", "p50_ms", "p99_ms", "server_cpu", "errors")

Send = Callable[[], Awaitable[int | None]]
SendMaker = Callable[[object], Send]  # an HTTP session → a prepared request


def latency_label(sizes: Sizes) -> str:
    return f"{LIST_LABEL} at concurrency {sizes.rest_latency_concurrency}"


@dataclass
class Cast:
    """One server's users: the listed one with its tasks, one who creates (the list keeps its
    count) and one who edits its own tasks."""

    server: Server
    lister: Account
    creator: Account
    editor: Account
    listed: list[str]
    edited: list[str]


async def _populate(setup, server: Server, sizes: Sizes) -> Cast:
    lister = await register(setup, server.url, "lister")
    creator = await register(setup, server.url, "creator")
    editor = await register(setup, server.url, "editor")
    listed = await create_tasks(setup, server.url, lister.token, sizes.rest_tasks)
    edited = await create_tasks(setup, server.url, editor.token, sizes.rest_concurrency)
    return Cast(server, lister, creator, editor, listed, edited)


def get(base: str, token: str) -> SendMaker:
    return lambda session: request_maker(session, "GET", base + LIST_PATH, token=token)


def put(base: str, token: str, ids: list[str]) -> SendMaker:
    return lambda session: edit_maker(session, base, ids, token=token)


def put_then_get(base: str, token: str, ids: list[str]) -> SendMaker:
    return lambda session: in_turn(put(base, token, ids)(session), get(base, token)(session))


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("rest", f"1. REST at concurrency {sizes.rest_concurrency}, {sizes.rest_tasks} tasks present "
                              f"(median of {sizes.repetitions} x {sizes.rest_duration_s:g} s)", COLUMNS)
    async with running(ctx.tasktrek()) as tasktrek, http_session() as setup, contextlib.AsyncExitStack() as stack:
        casts = {TASKTREK: await _populate(setup, tasktrek, sizes)}
        if ctx.baseline:
            before = await stack.enter_async_context(running(ctx.tasktrek(baseline=True)))
            casts[BASELINE] = await _populate(setup, before, sizes)
        ours = casts[TASKTREK]
        bodies = {
            "list": await call(setup, "GET", tasktrek.url + LIST_PATH, token=ours.lister.token),
            "created": await call(setup, "POST", tasktrek.url + "/api/tasks", token=ours.creator.token,
                                  body=new_task(0), expect=201),
            "updated": await call(setup, "PUT", f"{tasktrek.url}/api/tasks/{ours.edited[0]}",
                                  token=ours.editor.token, body={"title": "Edited"}),
        }
        bodies_path = ctx.workdir / "floor-bodies.json"
        bodies_path.write_text(json.dumps(bodies))
        async with running(ctx.floor(bodies_path)) as floor:
            bytes_floor = floor.url + PRECOMPUTED_PREFIX

            def each(request: Callable[[Cast], SendMaker]) -> dict[str, tuple[Server, SendMaker]]:
                return {name: (cast.server, request(cast)) for name, cast in casts.items()}

            phases = [  # label, concurrency, {name: (server, request)}
                (LIST_LABEL, sizes.rest_concurrency, {
                    **each(lambda c: get(c.server.url, c.lister.token)),
                    FLOOR: (floor, get(floor.url, FLOOR_TOKEN)),
                    FLOOR_BYTES: (floor, get(bytes_floor, FLOOR_TOKEN)),
                }),
                (latency_label(sizes), sizes.rest_latency_concurrency, {
                    **each(lambda c: get(c.server.url, c.lister.token)),
                    FLOOR_BYTES: (floor, get(bytes_floor, FLOOR_TOKEN)),
                }),
                (CREATE_LABEL, sizes.rest_concurrency, {
                    **each(lambda c: _create(c.server.url, c.creator.token)),
                    FLOOR: (floor, _create(floor.url, FLOOR_TOKEN)),
                }),
                (UPDATE_LABEL, sizes.rest_concurrency, {
                    **each(lambda c: put(c.server.url, c.editor.token, c.edited)),
                    FLOOR: (floor, put(floor.url, FLOOR_TOKEN, ours.edited)),
                }),
                # The floor's pair: both answers precomputed (no JSON work at all).
                (WRITE_READ_LABEL, sizes.rest_concurrency, {
                    **each(lambda c: put_then_get(c.server.url, c.lister.token, c.listed)),
                    FLOOR_BYTES: (floor, put_then_get(bytes_floor, FLOOR_TOKEN, ours.listed)),
                }),
            ]
            for label, concurrency, targets in phases:
                _tabulate(outcome, label, *await _measure(sizes, concurrency, targets))
    return outcome


def _create(base: str, token: str) -> SendMaker:
    return lambda session: request_maker(session, "POST", base + "/api/tasks", token=token, body=new_task(1),
                                         expect=201)


async def _measure(sizes: Sizes, concurrency: int, targets: dict[str, tuple[Server, SendMaker]]
                   ) -> tuple[dict[str, list[LoadResult]], dict[str, int]]:
    async with contextlib.AsyncExitStack() as stack:
        sends, body_bytes = {}, {}
        for name, (server, make) in targets.items():
            session = await stack.enter_async_context(http_session(concurrency))
            sends[name] = make(session)
            body_bytes[name] = await sends[name]()

        async def load(name: str, duration_s: float) -> LoadResult:
            return await closed_loop(sends[name], targets[name][0], concurrency=concurrency,
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
                  "p99": ratio(ours["p99_ms"], floor["p99_ms"]),
                  # Requests per second of server CPU: the ratio of costs, still true when the
                  # generator, not the server, set the pace (server CPU well under 100%).
                  "rps_per_cpu": ratio(ratio(ours["rps"], ours["server_cpu"]), ratio(floor["rps"], floor["server_cpu"])),
                  "other_cpu": floor["server_cpu"]}
        outcome.summary[label][key] = ratios
        outcome.rows.append([label, f"{TASKTREK} ÷ {shown}", *(f"x{ratios[k]:.2f}" for k in ("rps", "p50", "p99")),
                             "", "", ""])
