"""The web board in a real browser: Debian's Chromium, headless, driven by playwright-core
(tests/js/board/), against the real app served over HTTP on a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Awaitable, Callable

import pytest
from aiohttp import web

from tasktrek import create_app
from tasktrek.http.keys import SERVICES, STORE

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # git-ignored
SCENARIO_TIMEOUT = 180  # seconds for one whole scenario; each step waits for an event


def chromium() -> str:
    path = os.environ.get("TASKTREK_TEST_CHROMIUM", "/usr/bin/chromium")
    assert Path(path).is_file(), f"no Chromium at {path}: `make test` installs Debian's chromium (as root)"
    return path


CUE = "cue:"  # a scenario's line that asks the test to act (e.g. restart the server)


async def run_scenario(name: str, board_url: str, on_cue: Callable[[str], Awaitable[None]] | None = None) -> None:
    """Run tests/js/board/scenarios.mjs's `name` against `board_url`; its output lines that
    start with CUE are handed to `on_cue` while it goes on."""
    node = shutil.which("node")
    assert node, "node is not installed: the browser tests need Node.js 18+"
    assert (JS_DIR / "node_modules" / "playwright-core").is_dir(), "run `npm ci --prefix tests/js` (make test does)"
    SCREENSHOTS.mkdir(exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "board" / "run.mjs"), name, cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "BOARD_URL": board_url, "CHROMIUM": chromium(), "SCREENSHOTS": str(SCREENSHOTS), "NODE_NO_WARNINGS": "1"},
    )
    output: list[str] = []

    async def follow() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode().rstrip("\n")
            output.append(line)
            if line.startswith(CUE):
                assert on_cue, f"scenario {name} gave a cue that this test does not answer: {line}"
                await on_cue(line[len(CUE):])
        await proc.wait()

    try:
        await asyncio.wait_for(follow(), SCENARIO_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"scenario {name} did not finish in {SCENARIO_TIMEOUT}s:\n" + "\n".join(output))
    assert proc.returncode == 0, f"scenario {name} failed:\n" + "\n".join(output)


async def test_two_people_work_on_one_task_live(serve):
    shots = [SCREENSHOTS / "board-1280.png", SCREENSHOTS / "board-360.png"]
    for shot in shots:
        shot.unlink(missing_ok=True)  # written by this run, not left by an earlier one
    await run_scenario("collaboration", await serve())
    for shot in shots:
        assert shot.stat().st_size > 0


async def test_a_stale_tab_follows_the_bell_and_is_current_after_going_offline(serve):
    await run_scenario("staleTab", await serve())


async def test_errors_read_as_sentences_and_sessions_end_cleanly(serve):
    await run_scenario("errors", await serve())


async def test_the_board_works_under_a_prefix(serve):
    await run_scenario("mounted", await serve("/tasks/"))


async def start_server(app: web.Application, port: int, before_listening=None) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()  # the app has started (store open, gateway running); nothing listens yet
    if before_listening:
        await before_listening(app)
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_after_a_server_restart_the_board_reconnects_and_shows_what_changed(settings, unused_tcp_port):
    port = unused_tcp_port
    runner = await start_server(create_app(settings), port)

    async def restart(cue: str) -> None:
        nonlocal runner
        command, email = cue.split()
        assert command == "restart"
        await runner.cleanup()

        async def change_while_down(app: web.Application) -> None:
            owner = await app[STORE].get_user_by_email(email)
            await app[SERVICES].tasks.create(owner, {"title": "Made while the server was down"})

        runner = await start_server(create_app(settings), port, change_while_down)

    try:
        await run_scenario("restart", f"http://127.0.0.1:{port}/", restart)
    finally:
        await runner.cleanup()
