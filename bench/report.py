"""What a run reports: one table per workload on the terminal, everything in a JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from .procs import REPO

RESULTS_DIR = REPO / "bench" / "results"
NODE_MODULES = REPO / "bench" / "node" / "node_modules"
PYTHON_PACKAGES = ("tasktrek", "aiohttp", "python-socketio", "python-engineio", "aiosqlite", "bcrypt")


@dataclass
class Outcome:
    """One workload's result: a table for people, summaries and raw samples for the file."""

    name: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0
    background_cpu: float = 0.0  # cores' worth used by other processes while it ran


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(outcome: Outcome) -> str:
    lines = [f"== {outcome.title}"]
    if outcome.error:
        lines.append(f"   FAILED: {outcome.error}")
    if outcome.rows:
        cells = [outcome.columns] + [[_cell(v) for v in row] for row in outcome.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(outcome.columns))]
        for n, row in enumerate(cells):
            lines.append("   " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
            if n == 0:
                lines.append("   " + "  ".join("-" * w for w in widths))
    lines += [f"   note: {note}" for note in outcome.notes]
    return "\n".join(lines)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(mem_kib / 2**20, 1)}


def versions() -> dict:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in PYTHON_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    try:
        found["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        found["socket.io"] = json.loads((NODE_MODULES / "socket.io" / "package.json").read_text())["version"]
    except (OSError, subprocess.CalledProcessError, ValueError):
        found["node"] = found["socket.io"] = None
    return found


def write_results(path: Path, *, started: str, finished: str, duration_s: float, parameters: dict,
                  placement: dict, outcomes: list[Outcome], targets: list[dict]) -> None:
    document = {
        "started": started, "finished": finished, "duration_s": round(duration_s, 1),
        "machine": machine(), "versions": versions(), "parameters": parameters, "placement": placement,
        "workloads": {o.name: {k: v for k, v in asdict(o).items() if k != "name"} for o in outcomes},
        "targets": targets,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # NaN is not JSON: write null.
    path.write_text(json.dumps(_no_nan(document), indent=1) + "\n")


def _no_nan(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value
