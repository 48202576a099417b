"""`python -m bench [--smoke] [--only NAME ...]`: run the suite, print one table per workload,
write bench/results/<timestamp>.json. Exits 1 when a workload failed."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .config import FULL, SMOKE
from .procs import REPO, CpuWatch, install_cleanup, place_processes
from .report import RESULTS_DIR, Outcome, table, write_results
from .targets import Context
from .verdicts import BEFORE_ISSUE_12, judge, verdict_table
from .workloads import bigdata, cluster, fanout, idle, recovery, rest, storm

WORKLOADS = {"rest": rest.run, "fanout": fanout.run, "idle": idle.run, "storm": storm.run, "bigdata": bigdata.run,
             "cluster": cluster.run, "recovery": recovery.run}
FILES_SLACK = 1_000  # descriptors beyond the idle sockets: HTTP sessions, logs, the database
BUSY_CPU = 0.1  # cores' worth of CPU used by other processes during a workload that earns a warning


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, same code paths (under a minute)")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, default=list(WORKLOADS), metavar="NAME",
                        help=f"run only these workloads ({', '.join(WORKLOADS)})")
    parser.add_argument("--baseline", metavar="GIT-REF",
                        help="also run the TaskTrek of this commit in the REST and fan-out workloads (before/after in one run)")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL

    install_cleanup()
    placement = place_processes(sizes.idle_sockets + sizes.idle_warmup_sockets + FILES_SLACK)
    started, clock_start = datetime.now(timezone.utc), time.monotonic()
    print(f"TaskTrek benchmark, {sizes.profile} run, started {started:%Y-%m-%d %H:%M:%S} UTC")
    for note in placement.notes:
        print(f"note: {note}")
    with tempfile.TemporaryDirectory(prefix="tasktrek-bench-") as workdir:
        baseline = _export(args.baseline, Path(workdir) / "baseline") if args.baseline else None
        try:
            outcomes = asyncio.run(_run_all(Context(sizes, placement, Path(workdir), baseline), args.only))
        except KeyboardInterrupt:
            print("\ninterrupted: no results written")
            return 130

    finished = datetime.now(timezone.utc)
    verdicts = judge(outcomes, smoke=args.smoke,
                     before_issue_12=args.baseline is not None and _commit(args.baseline) == _commit(BEFORE_ISSUE_12))
    print("\n" + verdict_table(verdicts))
    path = RESULTS_DIR / f"{started:%Y%m%dT%H%M%SZ}.json"
    write_results(path, started=started.isoformat(), finished=finished.isoformat(),
                  duration_s=time.monotonic() - clock_start, parameters=dataclasses.asdict(sizes),
                  placement=dataclasses.asdict(placement), outcomes=outcomes,
                  targets=[dataclasses.asdict(v) for v in verdicts])
    failed = [o.name for o in outcomes if o.error]
    print(f"\nworkloads: {len(outcomes) - len(failed)} ok, {len(failed)} failed, in {time.monotonic() - clock_start:.1f} s; "
          f"results: {path}")
    return 1 if failed else 0


def _export(ref: str, into: Path) -> Path:
    """The source tree of commit `ref`, for the baseline server."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "tasktrek"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    print(f"baseline: TaskTrek of {ref} ({_describe(ref)})")
    return into


def _commit(ref: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "-q", ref + "^{commit}"],
                          capture_output=True, text=True).stdout.strip()


def _describe(ref: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s", ref], capture_output=True,
                          text=True).stdout.strip()[:80]


async def _run_all(ctx: Context, names: list[str]) -> list[Outcome]:
    outcomes = []
    for name in names:
        print(flush=True)
        watch = CpuWatch()
        start = time.monotonic()
        try:
            outcome = await WORKLOADS[name](ctx)
        except Exception as exc:  # one failed workload must not hide the others' results
            traceback.print_exc()
            outcome = Outcome(name, name, [], error=f"{type(exc).__name__}: {exc}")
        outcome.duration_s = round(time.monotonic() - start, 1)
        outcome.background_cpu = round(watch.others(), 2)
        if outcome.background_cpu > BUSY_CPU:
            outcome.notes.append(f"other processes used {outcome.background_cpu:.0%} of a core meanwhile: "
                                 "these figures may be disturbed")
        print(table(outcome))
        print(f"   ({outcome.duration_s:.1f} s)", flush=True)
        outcomes.append(outcome)
    return outcomes


if __name__ == "__main__":
    sys.exit(main())
