"""The interactive API docs (/api/docs) in a real browser: Debian's Chromium driven by
playwright-core (tests/js/docs/), against the real app mounted under a prefix."""

from __future__ import annotations

import asyncio
import os
import shutil

import aiohttp

from tests.web.test_browser import JS_DIR, SCENARIO_TIMEOUT, SCREENSHOTS, chromium


async def test_authorize_with_a_token_then_try_a_route(serve):
    base = await serve("/tasks/")
    SCREENSHOTS.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as http:
        body = {"name": "Docs Reader", "email": "reader@example.com", "password": "correct horse"}
        async with http.post(base + "api/users", json=body) as resp:
            assert resp.status == 201
            token = (await resp.json())["token"]
    proc = await asyncio.create_subprocess_exec(
        shutil.which("node"), str(JS_DIR / "docs" / "authorize.mjs"), cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "DOCS_URL": base + "api/docs", "TOKEN": token, "EMAIL": body["email"],
             "CHROMIUM": chromium(), "NODE_NO_WARNINGS": "1", "SCREENSHOT": str(SCREENSHOTS / "api-docs.png")},
    )
    output, _ = await asyncio.wait_for(proc.communicate(), SCENARIO_TIMEOUT)
    assert proc.returncode == 0, output.decode()
