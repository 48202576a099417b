"""The command line as operators run it: `python -m tasktrek` as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

READY_LINE = "to stop"  # the last of the start lines
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any TaskTrek or PaaS variable, plus `variables`."""
    names = ("TASKTREK_", "PORT", "MONGO_URI", "JWT_SECRET")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    return {**env, "TASKTREK_BCRYPT_ROUNDS": "4", **variables}


def tasktrek(*args: str, env: dict, cwd: Path, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tasktrek", *args], env=env, cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        """SIGTERM, as a container runtime or systemd sends; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, rest = self.process.communicate(timeout=30)
        self.lines.append(rest)
        return self.process.returncode


@contextmanager
def serving(env: dict, cwd: Path, *args: str, command: list[str] | None = None, port_variable: str = "TASKTREK_PORT"):
    """Start the server and return once it has printed its start lines (or exited)."""
    port = free_port()
    command = command or [sys.executable, "-m", "tasktrek"]
    process = subprocess.Popen([*command, *args], env={**env, port_variable: str(port)}, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = Server(process, port)
    watchdog = threading.Timer(START_TIMEOUT_SECONDS, process.kill)  # a server that never says it is ready
    watchdog.start()
    try:
        for line in process.stderr:  # ends when the process exits
            server.lines.append(line)
            if READY_LINE in line:
                break
        watchdog.cancel()
        yield server
    finally:
        watchdog.cancel()
        if process.poll() is None:
            server.stop()


@pytest.fixture
def workdir(tmp_path) -> Path:
    return tmp_path
