"""The sizes of a run: the full suite (minutes) and the smoke run (same code paths, tiny)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    profile: str
    repetitions: int  # every measurement is repeated; tables show the median repetition

    # 1. REST
    rest_tasks: int  # tasks present when listing
    rest_concurrency: int
    rest_warmup_s: float
    rest_duration_s: float  # per repetition, per target, per route
    rest_max_requests: int  # per repetition: the count bound beside the time bound
    rest_latency_concurrency: int  # the latency phase: a few clients, so that queueing does not dominate

    # 2. fan-out
    fanout_sockets: tuple[int, ...]
    fanout_warmup_emits: int
    fanout_emits: int  # per repetition

    # 3. idle sockets
    idle_sockets: int
    idle_warmup_sockets: int

    # 4. login storm
    storm_logins: int  # failed logins kept in flight by the attackers
    storm_user_logins: int  # the real user's logins timed in each phase

    # 5. big data
    bigdata_tasks: int
    bigdata_users: int
    bigdata_warmup_requests: int
    bigdata_requests: int  # per query, per repetition ...
    bigdata_repetition_s: float  # ... or fewer if a repetition takes this long

    # 6. cluster (two nodes on one Redis and one SQLite file)
    cluster_sockets: int  # spread over the two nodes

    # 7. recovery
    recovery_sockets: int  # drop and come back at once
    recovery_changes: int  # made while they are away


FULL = Sizes(
    profile="full",
    repetitions=3,
    rest_tasks=1_000,
    rest_concurrency=64,
    rest_warmup_s=2.0,
    rest_duration_s=5.0,
    rest_max_requests=200_000,
    rest_latency_concurrency=4,
    fanout_sockets=(100, 1_000),
    fanout_warmup_emits=10,
    fanout_emits=50,
    idle_sockets=10_000,
    idle_warmup_sockets=100,
    storm_logins=200,
    storm_user_logins=20,
    bigdata_tasks=1_000_000,
    bigdata_users=1_000,
    bigdata_warmup_requests=10,
    bigdata_requests=100,
    bigdata_repetition_s=10.0,
    cluster_sockets=2_000,
    recovery_sockets=1_000,
    recovery_changes=100,
)

SMOKE = Sizes(
    profile="smoke",
    repetitions=2,
    rest_tasks=200,
    rest_concurrency=16,
    rest_warmup_s=0.2,
    rest_duration_s=0.5,
    rest_max_requests=5_000,
    rest_latency_concurrency=4,
    fanout_sockets=(50,),
    fanout_warmup_emits=3,
    fanout_emits=50,
    idle_sockets=500,
    idle_warmup_sockets=20,
    storm_logins=8,
    storm_user_logins=3,
    bigdata_tasks=10_000,
    bigdata_users=100,
    bigdata_warmup_requests=2,
    bigdata_requests=20,
    bigdata_repetition_s=2.0,
    cluster_sockets=100,
    recovery_sockets=50,
    recovery_changes=10,
)
