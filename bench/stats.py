"""Summaries of latency samples: percentiles, medians over repetitions."""

from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence

MS = 1000.0  # seconds → milliseconds


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(samples_ms: Sequence[float]) -> dict:
    return {"n": len(samples_ms), "p50_ms": percentile(samples_ms, 50), "p99_ms": percentile(samples_ms, 99)}


def median_of(summaries: Iterable[dict], key: str) -> float:
    values = [s[key] for s in summaries if not math.isnan(s[key])]
    return statistics.median(values) if values else math.nan


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def rounded(samples_ms: Iterable[float]) -> list[float]:
    """Raw samples as stored in the results file: milliseconds to the microsecond."""
    return [round(s, 3) for s in samples_ms]
