"""4. Login storm: concurrent logins at the default bcrypt cost while a probe times
GET /healthz, against the same probe with no storm. bcrypt runs in threads off the event
loop, so the probe measures how free the loop stays."""

from __future__ import annotations

import asyncio

import aiohttp

from ..loadgen import clock, http_session
from ..procs import Server, running
from ..report import Outcome
from ..stats import MS, latency_summary, median_of, ratio, rounded
from ..targets import Context, login, register

PROBE_INTERVAL_S = 0.005
STORM_TIMEOUT_S = 300.0  # bounds a storm whatever the bcrypt cost
MAX_STORM_PROBES = int(STORM_TIMEOUT_S / PROBE_INTERVAL_S)
COLUMNS = ["phase", "healthz p50 ms", "healthz p99 ms", "login p50 ms", "login p99 ms", "logins/s", "server CPU"]


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("storm", f"4. Login storm: {sizes.storm_logins} concurrent logins at the default bcrypt cost "
                               f"vs GET /healthz (median of {sizes.repetitions})", COLUMNS)
    async with running(ctx.tasktrek(bcrypt_rounds=None)) as server, http_session() as session:
        email = (await register(session, server.url, "storm")).email
        await login(session, server.url, email)  # warm-up
        reps = []
        for _ in range(sizes.repetitions):
            quiet = await _probe(session, server, max_probes=sizes.storm_probes)
            reps.append({"quiet": quiet, "storm": await _storm(session, server, email, sizes.storm_logins)})
    keys = ("p50_ms", "p99_ms")
    quiet = {k: median_of([r["quiet"] for r in reps], k) for k in keys}
    storm = {k: median_of([r["storm"]["healthz"] for r in reps], k) for k in keys}
    logins = {k: median_of([r["storm"]["logins"] for r in reps], k) for k in (*keys, "per_s", "server_cpu")}
    outcome.rows += [
        ["no storm", quiet["p50_ms"], quiet["p99_ms"], "", "", "", ""],
        ["during storm", storm["p50_ms"], storm["p99_ms"], logins["p50_ms"], logins["p99_ms"], logins["per_s"],
         f"{logins['server_cpu']:.0%}"],
        ["storm ÷ no storm", f"x{ratio(storm['p50_ms'], quiet['p50_ms']):.2f}",
         f"x{ratio(storm['p99_ms'], quiet['p99_ms']):.2f}", "", "", "", ""],
    ]
    outcome.summary = {"healthz_quiet": quiet, "healthz_storm": storm, "logins": logins,
                       "repetitions": [{phase: _without_samples(v) for phase, v in r.items()} for r in reps]}
    outcome.samples = {"healthz_quiet": [r["quiet"]["samples"] for r in reps],
                       "healthz_storm": [r["storm"]["healthz"]["samples"] for r in reps],
                       "logins": [r["storm"]["logins"]["samples"] for r in reps]}
    return outcome


async def _probe(session: aiohttp.ClientSession, server: Server, *, max_probes: int,
                 stop: asyncio.Event | None = None) -> dict:
    """GET /healthz one after another, PROBE_INTERVAL_S apart, until `stop` is set (or
    `max_probes` / STORM_TIMEOUT_S is reached)."""
    samples = []
    deadline = clock() + STORM_TIMEOUT_S
    while len(samples) < max_probes and clock() < deadline and not (stop and stop.is_set()):
        start = clock()
        async with session.get(server.url + "/healthz") as resp:
            await resp.read()
            resp.raise_for_status()
        samples.append((clock() - start) * MS)
        await asyncio.sleep(PROBE_INTERVAL_S)
    return {"samples": rounded(samples), **latency_summary(samples)}


async def _storm(session: aiohttp.ClientSession, server: Server, email: str, count: int) -> dict:
    done = asyncio.Event()
    async with http_session() as probe_session:  # its own connection: never queued behind a login
        probe = asyncio.create_task(_probe(probe_session, server, max_probes=MAX_STORM_PROBES, stop=done))

        async def timed_login() -> float:
            start = clock()
            await login(session, server.url, email)
            return (clock() - start) * MS

        cpu_before, start = server.cpu_seconds(), clock()
        try:
            samples = await asyncio.wait_for(asyncio.gather(*(timed_login() for _ in range(count))), STORM_TIMEOUT_S)
        finally:
            done.set()
        elapsed = clock() - start
        cpu = (server.cpu_seconds() - cpu_before) / elapsed
        healthz = await probe
    return {"healthz": healthz, "logins": {"samples": rounded(samples), "per_s": count / elapsed, "server_cpu": cpu,
                                           **latency_summary(samples)}}


def _without_samples(value: dict) -> dict:
    return {k: _without_samples(v) if isinstance(v, dict) else v for k, v in value.items() if k != "samples"}
