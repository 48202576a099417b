"""The web board in a real browser: Debian's Chromium, headless, driven by playwright-core
(tests/js/board/), against the real app served over HTTP on a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # git-ignored
SCENARIO_TIMEOUT = 180  # seconds for one whole scenario; each step waits for an event


def chromium() -> str:
    path = os.environ.get("TASKTREK_TEST_CHROMIUM", "/usr/bin/chromium")
    assert Path(path).is_file(), f"no Chromium at {path}: `make test` installs Debian's chromium (as root)"
    return path


async def run_scenario(name: str, board_url: str) -> None:
    node = shutil.which("node")
    assert node, "node is not installed: the browser tests need Node.js 18+"
    assert (JS_DIR / "node_modules" / "playwright-core").is_dir(), "run `npm ci --prefix tests/js` (make test does)"
    SCREENSHOTS.mkdir(exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "board" / "run.mjs"), name, cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "BOARD_URL": board_url, "CHROMIUM": chromium(), "SCREENSHOTS": str(SCREENSHOTS), "NODE_NO_WARNINGS": "1"},
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), SCENARIO_TIMEOUT)
    except TimeoutError:
        proc.kill()
        output, _ = await proc.communicate()
        pytest.fail(f"scenario {name} did not finish in {SCENARIO_TIMEOUT}s:\n{output.decode()}")
    assert proc.returncode == 0, f"scenario {name} failed:\n{output.decode()}"


async def test_two_people_work_on_one_task_live(serve):
    await run_scenario("collaboration", await serve())
    assert (SCREENSHOTS / "board-1280.png").stat().st_size > 0
    assert (SCREENSHOTS / "board-360.png").stat().st_size > 0


async def test_a_stale_tab_follows_the_bell_and_is_current_after_going_offline(serve):
    await run_scenario("staleTab", await serve())


async def test_errors_read_as_sentences_and_sessions_end_cleanly(serve):
    await run_scenario("errors", await serve())


async def test_the_board_works_under_a_prefix(serve):
    await run_scenario("mounted", await serve("/tasks/"))
