"""The processes of a run: the generator (this process) and the servers it measures.

The generator is pinned to one core and every server to the other (with taskset, else with
sched_setaffinity in the child), so they never compete for a CPU. Servers always stop: on leaving `running()`, at interpreter exit, and (through
PR_SET_PDEATHSIG) when the generator itself is killed.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Callable, Mapping

import aiohttp

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0
READY_POLL_S = 0.05
STOP_TIMEOUT_S = 5.0
LOG_TAIL_BYTES = 4000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
SERVER_PORT_FLOOR = 20_000
PORT_TRIES = 50
PR_SET_PDEATHSIG = 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_live: set["Server"] = set()
_stopped_servers_cpu = 0.0


@dataclass
class Placement:
    """Where the generator and the servers run, and what the run must say about it."""

    generator_cpu: int | None = None
    server_cpu: int | None = None
    server_prefix: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    nofile: int = 0


def place_processes(files_needed: int) -> Placement:
    """Pin this process to the generator core, choose how servers get theirs, and raise the
    open-files limit as far as allowed (the servers inherit it)."""
    placement = Placement()
    cpus = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if len(cpus) < 2:
        placement.notes.append(f"only {len(cpus)} CPU: generator and servers share it (figures are pessimistic)")
    else:
        placement.generator_cpu, placement.server_cpu = cpus[:2]
        os.sched_setaffinity(0, {placement.generator_cpu})
        if taskset is None:
            placement.notes.append("taskset not found: servers pin themselves with sched_setaffinity instead")
        else:
            placement.server_prefix = [taskset, "-c", str(placement.server_cpu)]
    placement.nofile = _raise_nofile(files_needed)
    if placement.nofile < files_needed:
        placement.notes.append(f"open-files limit is {placement.nofile}, below the {files_needed} this run needs")
    return placement


def _raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limits in ((max(soft, wanted), max(hard, wanted)), (hard, hard)):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            break
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """A free port below the ephemeral range: the generator's own client sockets take ports
    from that range, and one could hold the port before the server binds it."""
    ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0]) if EPHEMERAL_RANGE.exists() else 0
    candidates = range(SERVER_PORT_FLOOR, ephemeral_low)
    for port in random.sample(candidates, min(PORT_TRIES, len(candidates))) or [0]:
        with socket.socket() as s:
            with contextlib.suppress(OSError):
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
    raise RuntimeError("no free port for a server")


def _child_setup(pin_to: int | None) -> Callable[[], None]:
    """Run in a server's process before exec: die with the generator; pin to `pin_to` when
    taskset is not there to do it."""

    def setup() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if pin_to is not None:
            os.sched_setaffinity(0, {pin_to})

    return setup


class Server:
    """One server process on 127.0.0.1:`port`, answering `ready_path` once it serves."""

    def __init__(self, name: str, argv: list[str], *, port: int, log_dir: Path, placement: Placement,
                 env: Mapping[str, str] | None = None, ready_path: str = "/healthz", cwd: Path = REPO):
        self.name = name
        self.cwd = cwd
        self.argv = placement.server_prefix + argv
        self.pin_in_child = None if placement.server_prefix else placement.server_cpu
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ if env is None else env)
        self.ready_path = ready_path
        self.log_path = log_dir / f"{name}-{port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid  # taskset execs the server: same pid

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=_child_setup(self.pin_in_child),
            )
        _live.add(self)

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url + self.ready_path) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(READY_POLL_S)
        raise RuntimeError(f"{self.name} not ready within {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        global _stopped_servers_cpu
        _live.discard(self)
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError):
            _stopped_servers_cpu += self.cpu_seconds()
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace")
        return ""

    def rss_bytes(self) -> int:
        """VmRSS from /proc/<pid>/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.name}")

    def cpu_seconds(self) -> float:
        """User + system CPU time so far (fields 14 and 15 of /proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuWatch:
    """How much CPU processes other than this run's used while it ran: the machine's busy time
    (user + nice + system in /proc/stat) less the generator's and the servers' own."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.machine, self.ours = _machine_busy_seconds(), _our_cpu_seconds()

    def others(self) -> float:
        """Cores' worth, on average since the watch started."""
        elapsed = time.monotonic() - self.start
        spent = (_machine_busy_seconds() - self.machine) - (_our_cpu_seconds() - self.ours)
        return max(0.0, spent / elapsed) if elapsed else 0.0


def _machine_busy_seconds() -> float:
    user, nice, system = map(int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:4])
    return (user + nice + system) / CLOCK_TICKS


def _our_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + _stopped_servers_cpu + sum(s.cpu_seconds() for s in _live)


@contextlib.asynccontextmanager
async def running(server: Server) -> AsyncIterator[Server]:
    server.start()
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()


def stop_all() -> None:
    for server in list(_live):
        server.stop()


def install_cleanup() -> None:
    """Stop every server at exit, including on SIGTERM."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
