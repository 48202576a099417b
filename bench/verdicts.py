"""Issue 12's targets, judged from one run's outcomes: each with its measured value, its limit
and PASS, FAIL or why it was not judged. Printed after the tables and written to the results file."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable

from .report import Outcome
from .targets import NODE_SOCKETIO, TASKTREK
from .workloads.rest import CREATE_LABEL, LIST_LABEL, UPDATE_LABEL, WRITE_READ_LABEL

# The code before issue 12: `--baseline` with it measures "2x before" directly, in the same run.
BEFORE_ISSUE_12 = "ef45a05"
GENERATOR_BOUND_CPU = 0.9  # a peer's server CPU below this: the generator, not the peer, was the bottleneck
FANOUT_SOCKETS = 1_000  # the sockets the fan-out targets speak of
KIB = 1024
PASS, FAIL, NOT_RUN, NOT_MEASURED = "PASS", "FAIL", "not run", "not measured"


@dataclass
class Verdict:
    target: str
    measured: float | None
    limit: float | None
    status: str
    note: str = ""


@dataclass(frozen=True)
class _Target:
    name: str
    workload: str
    read: Callable[[Outcome], float]  # KeyError: the run holds no such figure
    compare: Callable[[float, float], bool]
    limit: float
    missing: str = "figure missing from the run"  # why, when the run holds no such figure
    ratio_of: Callable[[Outcome], dict] | None = None  # the ratios the figure comes from (REST)
    needs_baseline: bool = False  # a ratio to "TaskTrek before": only when that is BEFORE_ISSUE_12


def _largest_fanout(outcome: Outcome) -> str:
    return max(outcome.summary, key=int)


def _latency_phase(outcome: Outcome) -> dict:
    """The REST latency phase's figures (its label names its concurrency)."""
    for label, figures in outcome.summary.items():
        if label.startswith(LIST_LABEL + " at concurrency"):
            return figures
    raise KeyError("latency phase")


TARGETS = [
    _Target("GET list req/s ÷ precomputed-bytes floor ≥ 0.5", "rest",
            lambda o: o.summary[LIST_LABEL]["tasktrek_over_bytes_floor"]["rps"], operator.ge, 0.5,
            ratio_of=lambda o: o.summary[LIST_LABEL]["tasktrek_over_bytes_floor"]),
    _Target("GET list p99 ms < 5 (latency phase: a few clients, no queue)", "rest",
            lambda o: _latency_phase(o)[TASKTREK]["median"]["p99_ms"], operator.lt, 5.0),
    _Target("GET list after every write: PUT+GET pairs/s ÷ precomputed-bytes floor's ≥ 0.25", "rest",
            lambda o: o.summary[WRITE_READ_LABEL]["tasktrek_over_bytes_floor"]["rps"], operator.ge, 0.25,
            ratio_of=lambda o: o.summary[WRITE_READ_LABEL]["tasktrek_over_bytes_floor"]),
    _Target(f"POST /api/tasks req/s ÷ TaskTrek before ({BEFORE_ISSUE_12}) ≥ 2", "rest",
            lambda o: o.summary[CREATE_LABEL]["tasktrek_over_before"]["rps"], operator.ge, 2.0,
            missing=f"needs --baseline {BEFORE_ISSUE_12}", needs_baseline=True),
    _Target(f"PUT /api/tasks/<id> req/s ÷ TaskTrek before ({BEFORE_ISSUE_12}) ≥ 2", "rest",
            lambda o: o.summary[UPDATE_LABEL]["tasktrek_over_before"]["rps"], operator.ge, 2.0,
            missing=f"needs --baseline {BEFORE_ISSUE_12}", needs_baseline=True),
    _Target("fan-out to 1,000 sockets: last-delivery p50 ÷ node socket.io ≤ 1.2", "fanout",
            lambda o: o.summary[_largest_fanout(o)][NODE_SOCKETIO]["tasktrek_over_it"]["p50_ms"], operator.le, 1.2),
    _Target("fan-out to 1,000 sockets: last-delivery p99 ms ≤ 30", "fanout",
            lambda o: o.summary[_largest_fanout(o)][TASKTREK]["median"]["p99_ms"], operator.le, 30.0),
    _Target("idle authenticated socket KiB ≤ 14", "idle",
            lambda o: o.summary[TASKTREK]["median"]["bytes_per_socket"] / KIB, operator.le, 14.0),
]


def judge(outcomes: list[Outcome], *, smoke: bool, before_issue_12: bool) -> list[Verdict]:
    """`before_issue_12`: the run's --baseline is BEFORE_ISSUE_12 (another baseline is not the
    "before" that "2× before" speaks of)."""
    by_name = {o.name: o for o in outcomes}
    verdicts = []
    for target in TARGETS:
        outcome = by_name.get(target.workload)
        if outcome is None or outcome.error:
            verdicts.append(Verdict(target.name, None, target.limit, NOT_RUN,
                                    f"workload {target.workload} {'failed' if outcome else 'not run'}"))
            continue
        if target.needs_baseline and not before_issue_12:
            verdicts.append(Verdict(target.name, None, target.limit, NOT_MEASURED, target.missing))
            continue
        try:
            measured = target.read(outcome)
        except (KeyError, ValueError):
            verdicts.append(Verdict(target.name, None, target.limit, NOT_MEASURED, target.missing))
            continue
        status = NOT_MEASURED if measured is None or math.isnan(measured) else \
            PASS if target.compare(measured, target.limit) else FAIL
        note = ""
        if target.workload == "fanout" and int(_largest_fanout(outcome)) != FANOUT_SOCKETS:
            note = f"measured at {_largest_fanout(outcome)} sockets"
        if target.ratio_of is not None:
            note = _generator_bound(target.ratio_of(outcome))
        if smoke:
            note = "; ".join(filter(None, [note, "smoke sizes: indicative only"]))
        verdicts.append(Verdict(target.name, measured, target.limit, status, note))
    return verdicts


def _generator_bound(ratios: dict) -> str:
    """A note when the peer's server CPU shows the generator set its pace (its req/s, and so
    the ratio, understate it), with the ratio per second of server CPU."""
    busy = ratios.get("other_cpu")
    if busy is None or busy >= GENERATOR_BOUND_CPU:
        return ""
    return f"peer's server CPU {busy:.0%}: generator-bound, ratio overstated; per CPU-second x{ratios['rps_per_cpu']:.2f}"


def verdict_table(verdicts: list[Verdict]) -> str:
    lines = ["== Issue 12 targets"]
    width = max(len(v.target) for v in verdicts)
    for v in verdicts:
        measured = "-" if v.measured is None or math.isnan(v.measured) else f"{v.measured:.3g}"
        note = f"  ({v.note})" if v.note else ""
        lines.append(f"   {v.target.ljust(width)}  {measured:>8}  {v.status}{note}")
    return "\n".join(lines)
