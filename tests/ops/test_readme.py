"""The README's examples run as written: the embedding example, and the curl walkthrough
(the same text as scripts/demo.sh, which `make demo` runs), twice in a row."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
import json
from pathlib import Path

from tests.ops.conftest import clean_env, free_port, serving

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_block(section: str, language: str) -> str:
    body = README[README.index(f"## {section}\n"):]
    return re.search(rf"```{language}\n(.*?)```", body, re.S).group(1)


def test_the_walkthrough_is_the_demo_script():
    script = (ROOT / "scripts" / "demo.sh").read_text()
    assert readme_block("Walkthrough with curl", "sh") == script[script.index("API=${API"):]
    assert "demo:" in (ROOT / "Makefile").read_text()


def test_the_demo_runs_twice_against_a_live_server(tmp_path):
    with serving(clean_env(), tmp_path) as server:
        runs = [subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], env={**os.environ, "API": f"{server.url}/api"},
                               capture_output=True, text=True, timeout=120) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert '"title":"Write the release notes"' in run.stdout and '"status":"in-progress"' in run.stdout
        assert "\n401\n" in run.stdout  # Bob's token after logging out everywhere
        assert run.stdout.rstrip().endswith('{"status":"ok"}')


def test_the_embedding_example_runs_as_written(tmp_path):
    port = free_port()
    example = readme_block("Embedding", "python")
    assert "port=8080" in example
    (tmp_path / "host.py").write_text(example.replace("port=8080", f"port={port}"))  # the only change: a free port
    process = subprocess.Popen([sys.executable, "host.py"], cwd=tmp_path, env={**clean_env(), "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(30, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:  # aiohttp prints this once it listens
            if "Running on" in line:
                break
        base = f"http://127.0.0.1:{port}"
        assert json.load(urllib.request.urlopen(f"{base}/", timeout=10)) == {"hello": "from the host application"}
        request = urllib.request.Request(f"{base}/tasks/api/users", method="POST", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"name": "Ann", "email": "ann@example.com", "password": "correct horse"}).encode())
        registered = json.load(urllib.request.urlopen(request, timeout=10))
        me = urllib.request.Request(f"{base}/tasks/api/users/me", headers={"Authorization": f"Bearer {registered['token']}"})
        assert json.load(urllib.request.urlopen(me, timeout=10))["email"] == "ann@example.com"
    finally:
        watchdog.cancel()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert (tmp_path / "tasktrek.db").exists() and (tmp_path / "tasktrek.db.secret").exists()
