"""`python -m bench.ab GIT-REF [--processes K] [--repetitions R] [--seconds S]`: the REST
workload's write-then-read pairs (`PUT`, then `GET` list, 64 workers) on this tree's TaskTrek
(B) and on GIT-REF's (A), judged by the server's CPU per pair rather than by pairs per second
(which it prints too, with the pairs' p50 and p99).

A change worth a few per cent is below the full run's noise (±15% between runs here). Two
things make the figure steadier: CPU per pair moves much less than throughput does when the
generator or the machine drifts, and every server process differs a little (address-space
layout, hash seeds), and the first one started runs slow. So K processes of each tree are
started after an uncounted first one, in the balanced order A B B A B A A B (a trend over start
order cancels), and their measurements are interleaved; each process's figure is the median
of its repetitions, each tree's the mean of its processes'."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

from .__main__ import _export
from .config import FULL
from .loadgen import closed_loop, http_session
from .procs import REPO, install_cleanup, place_processes, running
from .stats import latency_summary
from .targets import Context
from .workloads.rest import _populate, put_then_get

CONCURRENCY = 64
BALANCED = "ABBABAAB"


async def _measure(trees: dict[str, Path], processes: int, repetitions: int, seconds: float,
                   workdir: Path) -> dict[str, list[float]]:
    placement = place_processes(2_000)
    order = "X" + (BALANCED * processes)[: 2 * processes]  # X: the uncounted first process, tree A
    async with contextlib.AsyncExitStack() as stack:
        setup = await stack.enter_async_context(http_session())
        servers = []
        for name in order:
            ctx = Context(FULL, placement, workdir, baseline=trees["B" if name == "B" else "A"])
            server = await stack.enter_async_context(running(ctx.tasktrek(baseline=True)))
            cast = await _populate(setup, server, FULL)
            session = await stack.enter_async_context(http_session(CONCURRENCY))
            send = put_then_get(server.url, cast.lister.token, cast.listed)(session)
            await closed_loop(send, server, concurrency=CONCURRENCY, duration_s=1.5, max_requests=10**9)  # warm-up
            servers.append((name, server, send, []))
        for repetition in range(repetitions):
            for name, server, send, cpu_per_pair in servers if repetition % 2 == 0 else servers[::-1]:
                before = server.cpu_seconds()
                result = await closed_loop(send, server, concurrency=CONCURRENCY, duration_s=seconds,
                                           max_requests=10**9)
                latency = latency_summary(result.latencies_ms)
                cpu_per_pair.append(((server.cpu_seconds() - before) / max(len(result.latencies_ms), 1) * 1e6,
                                     result.rps, latency["p50_ms"], latency["p99_ms"]))
    # Per process, the median of its repetitions of each figure.
    return {tree: [tuple(statistics.median(figure) for figure in zip(*runs)) for name, _, _, runs in servers
                   if name == tree] for tree in "AB"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", metavar="GIT-REF", help="the TaskTrek to compare this tree's with (A)")
    parser.add_argument("--processes", type=int, default=4, help="server processes per tree (default 4)")
    parser.add_argument("--repetitions", type=int, default=3, help="measurements per process (default 3)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measurement (default 2)")
    args = parser.parse_args(argv)
    install_cleanup()
    with tempfile.TemporaryDirectory(prefix="tasktrek-ab-") as workdir:
        trees = {"A": _export(args.baseline, Path(workdir) / "baseline"), "B": REPO}
        figures = asyncio.run(_measure(trees, args.processes, args.repetitions, args.seconds, Path(workdir)))
    means = {tree: [statistics.mean(figure) for figure in zip(*values)] for tree, values in figures.items()}
    for tree, label in (("A", args.baseline), ("B", "this tree")):
        cpu, rps, p50, p99 = means[tree]
        print(f"{tree} ({label}): CPU per pair {cpu:.0f} µs (per process: "
              + ", ".join(f"{values[0]:.0f}" for values in figures[tree])
              + f"); {rps:,.0f} pairs/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    ratios = [b / a for a, b in zip(means["A"], means["B"])]
    print("B ÷ A: CPU per pair ×{:.3f}, pairs/s ×{:.3f}, p50 ×{:.3f}, p99 ×{:.3f}".format(*ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
