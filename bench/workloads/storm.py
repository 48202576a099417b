"""4. Login storm: a real user's login at the default bcrypt cost (retried after
Retry-After when refused, timed until it succeeds) while attackers keep
`storm_logins` failed logins (each for another email) in flight, from one address and from
as many addresses as attempts, against the same user with no storm. A probe times
GET /healthz meanwhile: bcrypt runs in threads off the event loop, so it measures how free
the loop stays. The attackers connect from other loopback addresses (127.0.0.2 and up) than
the user (127.0.0.1), as the server tells clients apart by address."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import aiohttp

from ..loadgen import REQUEST_TIMEOUT_S, clock, http_session
from ..procs import Server, running
from ..report import Outcome
from ..stats import MS, latency_summary, median_of, rounded
from ..targets import BENCH_PASSWORD, Context, login, register

PROBE_INTERVAL_S = 0.005
ATTACKER_PAUSE_S = 0.05  # after a 429
STORM_TIMEOUT_S = 300.0  # bounds a storm whatever the bcrypt cost
USER_ADDRESS = "127.0.0.1"
COLUMNS = ["phase", "login p50 ms", "login p99 ms", "healthz p50 ms", "healthz p99 ms", "attempts",
           "401", "429", "server CPU"]
PHASES = ("no storm", "storm from 1 address", "storm from many addresses")


def attacker_address(i: int) -> str:
    return f"127.0.{1 + i // 250}.{2 + i % 250}"


async def run(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    outcome = Outcome("storm", f"4. Login storm: a user's {sizes.storm_user_logins} logins at bcrypt cost 12 while "
                               f"{sizes.storm_logins} failed logins stay in flight (median of {sizes.repetitions})",
                      COLUMNS)
    async with running(ctx.tasktrek(bcrypt_rounds=None)) as server, http_session() as session:
        email = (await register(session, server.url, "storm")).email
        await login(session, server.url, email)  # warm-up
        reps = []
        for _ in range(sizes.repetitions):
            reps.append({
                PHASES[0]: await _phase(server, email, sizes.storm_user_logins, attackers=0, addresses=0),
                PHASES[1]: await _phase(server, email, sizes.storm_user_logins, attackers=sizes.storm_logins, addresses=1),
                PHASES[2]: await _phase(server, email, sizes.storm_user_logins, attackers=sizes.storm_logins,
                                        addresses=sizes.storm_logins),
            })
    summary = {}
    for phase in PHASES:
        runs = [r[phase] for r in reps]
        summary[phase] = {
            "login": {k: median_of([r["login"] for r in runs], k) for k in ("p50_ms", "p99_ms")},
            "healthz": {k: median_of([r["healthz"] for r in runs], k) for k in ("p50_ms", "p99_ms")},
            **{k: median_of(runs, k) for k in ("attempts", "refused_401", "refused_429", "server_cpu")},
        }
        s = summary[phase]
        outcome.rows.append([phase, s["login"]["p50_ms"], s["login"]["p99_ms"], s["healthz"]["p50_ms"],
                             s["healthz"]["p99_ms"], s["attempts"], s["refused_401"], s["refused_429"],
                             f"{s['server_cpu']:.0%}"])
    outcome.summary = summary
    outcome.samples = {phase: [r[phase]["login"]["samples"] for r in reps] for phase in PHASES}
    return outcome


async def _phase(server: Server, email: str, user_logins: int, *, attackers: int, addresses: int) -> dict:
    """The user logs in `user_logins` times, one after another, while `attackers` failed logins
    stay in flight from `addresses` addresses."""
    done = asyncio.Event()
    counts = {"attempts": 0, 401: 0, 429: 0}
    # An attacker waits as long as it takes: a suspect's attempt may queue behind every real
    # login for longer than a real client's request timeout.
    sessions = [_session_from(attacker_address(i), timeout_s=STORM_TIMEOUT_S) for i in range(addresses)]
    user = _session_from(USER_ADDRESS)
    probe_session = http_session()
    try:
        storm = [asyncio.create_task(_attack(sessions[i % addresses], server, counts, done)) for i in range(attackers)]
        probe = asyncio.create_task(_probe(probe_session, server, done))
        cpu_before, start = server.cpu_seconds(), clock()
        samples = []
        try:
            async with asyncio.timeout(STORM_TIMEOUT_S):
                for _ in range(user_logins):
                    begin = clock()
                    await _login_patiently(user, server, email)
                    samples.append((clock() - begin) * MS)
        finally:
            done.set()
            cpu = (server.cpu_seconds() - cpu_before) / (clock() - start)
            await asyncio.gather(*storm)
        healthz = await probe
    finally:
        for s in (*sessions, user, probe_session):
            await s.close()
    unexpected = counts["attempts"] - counts[401] - counts[429]
    if unexpected:
        raise RuntimeError(f"{unexpected} storm attempts got neither 401 nor 429")
    return {"login": {"samples": rounded(samples), **latency_summary(samples)}, "healthz": healthz,
            "attempts": counts["attempts"], "refused_401": counts[401], "refused_429": counts[429], "server_cpu": cpu}


async def _login_patiently(session: aiohttp.ClientSession, server: Server, email: str) -> None:
    """Log in as a real client does: after a 429, wait for its Retry-After and try again."""
    body = {"email": email, "password": BENCH_PASSWORD}
    while True:
        async with session.post(server.url + "/api/users/login", json=body) as resp:
            await resp.read()
            if resp.status == 200:
                return
            if resp.status != 429:
                raise RuntimeError(f"the user's login answered {resp.status}")
            await asyncio.sleep(int(resp.headers["Retry-After"]))


def _session_from(address: str, timeout_s: float = REQUEST_TIMEOUT_S) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(address, 0)),
                                 timeout=aiohttp.ClientTimeout(total=timeout_s))


async def _attack(session: aiohttp.ClientSession, server: Server, counts: dict, done: asyncio.Event) -> None:
    """Failed logins, each for a new email, one after another until `done`."""
    for _ in itertools.count():
        if done.is_set():
            return
        body = {"email": f"victim-{uuid.uuid4().hex[:12]}@bench.example.com", "password": BENCH_PASSWORD}
        async with session.post(server.url + "/api/users/login", json=body) as resp:
            await resp.read()
            counts["attempts"] += 1
            counts[resp.status] = counts.get(resp.status, 0) + 1
            if resp.status == 429:  # an attacker ignores Retry-After, but not to the point of a busy loop
                await asyncio.sleep(ATTACKER_PAUSE_S)


async def _probe(session: aiohttp.ClientSession, server: Server, done: asyncio.Event) -> dict:
    """GET /healthz one after another, PROBE_INTERVAL_S apart, until `done`."""
    samples = []
    while not done.is_set():
        start = clock()
        async with session.get(server.url + "/healthz") as resp:
            await resp.read()
            resp.raise_for_status()
        samples.append((clock() - start) * MS)
        await asyncio.sleep(PROBE_INTERVAL_S)
    return {"samples": rounded(samples), **latency_summary(samples)}
