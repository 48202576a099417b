"""The bcrypt work queue: bounded, fair between client addresses, quick to refuse.

Jobs are real worker-thread jobs that block on a threading.Event, so that the test decides
when each finishes."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tasktrek.errors import TooManyRequests
from tasktrek.services.passwords import SERVER_BUSY, PasswordWork


class Jobs:
    """Blocking jobs that record the order they started in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self._started = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def job(self, name: str) -> str:
        self.started.append(name)
        self._loop.call_soon_threadsafe(self._started.set)
        self.release.wait(10)
        return name

    async def until_started(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.started) < count:
                self._started.clear()
                await self._started.wait()


async def queued(work: PasswordWork, waiting: int) -> None:
    """Return once `waiting` jobs wait in the queue."""
    while work.stats()["waiting"] < waiting:
        await asyncio.sleep(0)


async def test_a_client_over_its_share_is_refused_at_once():
    work, jobs = PasswordWork(workers=1, max_waiting=10, per_client=2), Jobs()
    first = asyncio.create_task(work.run("10.0.0.1", jobs.job, "a1"))
    second = asyncio.create_task(work.run("10.0.0.1", jobs.job, "a2"))
    await jobs.until_started(1)
    await queued(work, 1)
    with pytest.raises(TooManyRequests) as refused:
        await work.run("10.0.0.1", jobs.job, "a3")
    assert refused.value.message == SERVER_BUSY and refused.value.retry_after >= 1
    other = asyncio.create_task(work.run("10.0.0.2", jobs.job, "b1"))  # another address still gets a place
    await queued(work, 2)
    jobs.release.set()
    assert await asyncio.gather(first, second, other) == ["a1", "a2", "b1"]
    assert work.stats() == {"running": 0, "waiting": 0, "clients": 0}


async def test_a_full_queue_refuses_everyone_with_a_retry_after():
    work, jobs = PasswordWork(workers=1, max_waiting=2, per_client=5), Jobs()
    tasks = [asyncio.create_task(work.run(f"10.0.0.{i}", jobs.job, str(i))) for i in range(3)]
    await jobs.until_started(1)
    await queued(work, 2)
    with pytest.raises(TooManyRequests) as refused:
        await work.run("10.9.9.9", jobs.job, "late")
    assert refused.value.retry_after >= 1
    jobs.release.set()
    await asyncio.gather(*tasks)


async def test_freed_workers_go_to_the_addresses_in_turn():
    work, jobs = PasswordWork(workers=1, max_waiting=10, per_client=4), Jobs()
    running = asyncio.create_task(work.run("storm", jobs.job, "s0"))
    await jobs.until_started(1)
    storm = [asyncio.create_task(work.run("storm", jobs.job, f"s{i}")) for i in (1, 2, 3)]
    await queued(work, 3)
    user = asyncio.create_task(work.run("user", jobs.job, "u"))  # arrives after three of the storm's
    await queued(work, 4)
    jobs.release.set()
    await asyncio.gather(running, user, *storm)
    assert jobs.started == ["s0", "s1", "u", "s2", "s3"]  # not behind the whole storm


async def test_a_cancelled_waiter_gives_its_place_back():
    work, jobs = PasswordWork(workers=1, max_waiting=1, per_client=1), Jobs()
    running = asyncio.create_task(work.run("a", jobs.job, "a"))
    await jobs.until_started(1)
    waiter = asyncio.create_task(work.run("b", jobs.job, "b"))
    await queued(work, 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert work.stats() == {"running": 1, "waiting": 0, "clients": 1}
    jobs.release.set()
    assert await running == "a"
    assert await work.run("b", jobs.job, "b again") == "b again"


async def test_clients_that_just_failed_wait_behind_the_others():
    work, jobs = PasswordWork(workers=1, max_waiting=10, per_client=2), Jobs()
    running = asyncio.create_task(work.run("user", jobs.job, "first"))
    await jobs.until_started(1)
    for i in range(3):  # a storm from three addresses, each of which has failed already
        work.failed(f"attacker{i}")
    storm = [asyncio.create_task(work.run(f"attacker{i}", jobs.job, f"a{i}")) for i in range(3)]
    await queued(work, 3)
    user = asyncio.create_task(work.run("user", jobs.job, "u"))
    await queued(work, 4)
    jobs.release.set()
    await asyncio.gather(running, user, *storm)
    assert jobs.started[:2] == ["first", "u"]


async def test_a_failure_stops_counting_after_its_time():
    now = [0.0]
    work, jobs = PasswordWork(workers=1, max_waiting=10, per_client=2, suspect_seconds=60, clock=lambda: now[0]), Jobs()
    running = asyncio.create_task(work.run("x", jobs.job, "first"))
    await jobs.until_started(1)
    work.failed("old")
    now[0] = 61.0
    old = asyncio.create_task(work.run("old", jobs.job, "old"))
    await queued(work, 1)
    user = asyncio.create_task(work.run("user", jobs.job, "user"))
    await queued(work, 2)
    jobs.release.set()
    await asyncio.gather(running, old, user)
    assert jobs.started == ["first", "old", "user"]  # in turn: "old" is in good standing again


async def test_a_full_queue_of_suspects_still_admits_a_client_in_good_standing():
    """A storm from many addresses that have failed keeps the queue full: a real user's job
    takes the place of the suspect's that queued last, which is refused (429) at once."""
    work, jobs = PasswordWork(workers=1, max_waiting=3, per_client=2), Jobs()
    running = asyncio.create_task(work.run("attacker0", jobs.job, "a0"))
    await jobs.until_started(1)
    for i in range(1, 4):
        work.failed(f"attacker{i}")
    storm = [asyncio.create_task(work.run(f"attacker{i}", jobs.job, f"a{i}")) for i in range(1, 4)]
    await queued(work, 3)
    user = asyncio.create_task(work.run("user", jobs.job, "u"))
    with pytest.raises(TooManyRequests) as refused:
        await storm[-1]  # the last to queue gave its place up
    assert refused.value.message == SERVER_BUSY and refused.value.retry_after >= 1
    work.failed("attacker9")
    with pytest.raises(TooManyRequests):  # a suspect takes no one's place
        await work.run("attacker9", jobs.job, "a9")
    jobs.release.set()
    assert await asyncio.gather(running, user, *storm[:2]) == ["a0", "u", "a1", "a2"]
    assert jobs.started[:2] == ["a0", "u"]
    assert work.stats() == {"running": 0, "waiting": 0, "clients": 0}
