"""Schemathesis holds the server to its own OpenAPI document.

The real app (SQLite file, real HTTP) is mounted under a prefix, as an embedding application
would; schemathesis reads the document the app serves there, authenticates with a real token,
and runs every phase (examples, coverage, fuzzing, stateful sequences along the document's
links: create → read → update → assign → delete → restore) with every check on, except the
few that tests/fuzz/schemathesis.toml explains. The run is bounded by the number of examples
per operation; `make fuzz` runs it with many more (TASKTREK_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from aiohttp import ClientSession, web

from tasktrek import create_app

CONFIG = Path(__file__).with_name("schemathesis.toml")
PREFIX = "/tasktrek/"
EXAMPLES = int(os.environ.get("TASKTREK_FUZZ_EXAMPLES", "100"))
SEED = os.environ.get("TASKTREK_FUZZ_SEED", "20261201")  # "random": a new seed each run
NOT_FUZZED = {"logout"}  # see schemathesis.toml


async def _register(session: ClientSession, base: str, name: str) -> dict:
    body = {"name": name, "email": f"{name}@example.com", "password": "fuzz-password"}
    async with session.post(f"{base}/api/users", json=body) as resp:
        assert resp.status == 201
        return await resp.json()


async def _give_notifications(session: ClientSession, base: str, fuzzer: dict) -> None:
    """Another user assigns the fuzzing user tasks: it then has notifications to mark."""
    other = await _register(session, base, "giver")
    auth = {"Authorization": f"Bearer {other['token']}"}
    for n in range(3):
        async with session.post(f"{base}/api/tasks", json={"title": f"for you {n}", "assignedTo": fuzzer["_id"]}, headers=auth) as resp:
            assert resp.status == 201


async def test_the_server_answers_as_its_openapi_document_says(aiohttp_server, settings, tmp_path):
    answered: Counter[tuple[str, str, int]] = Counter()

    @web.middleware
    async def count(request: web.Request, handler) -> web.StreamResponse:
        response = await handler(request)
        resource = request.match_info.route.resource  # None when no route matched
        answered[request.method, resource.canonical if resource else "", response.status] += 1
        return response

    host = web.Application(middlewares=[count])
    # One client registers throughout the run: more than one address may in an hour.
    app = create_app(replace(settings, registrations_per_address=1_000_000))
    host.add_subapp(PREFIX, app)
    server = await aiohttp_server(host)
    base = f"http://127.0.0.1:{server.port}{PREFIX.rstrip('/')}"
    async with ClientSession() as session:
        fuzzer = await _register(session, base, "fuzzer")
        await _give_notifications(session, base, fuzzer)
        async with session.get(f"{base}/api/openapi.json") as resp:
            document = await resp.json()

    seed = [] if SEED == "random" else ["--seed", SEED]
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{base}/api/openapi.json",
        "--header", f"Authorization: Bearer {fuzzer['token']}",
        "--checks", "all", "--exclude-checks", "use_after_free,object_level_authorization",
        "--max-examples", str(EXAMPLES), *seed, "--workers", "1",
    ]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output = (await process.communicate())[0].decode(errors="replace")
    summary = output[output.rfind("= SUMMARY ="):] if "= SUMMARY =" in output else output[-3000:]
    print(summary)
    print(f"requests answered by the app: {sum(answered.values())}")
    assert process.returncode == 0, output[-20000:]

    # Every operation was reached for real: at least one success, with real ids from links.
    succeeded = {(method, path.removeprefix(PREFIX.rstrip("/"))) for (method, path, status) in answered if status < 300}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation["operationId"] not in NOT_FUZZED:
                assert (method.upper(), path) in succeeded, (method, path)
    assert not [key for key in answered if key[2] >= 500]
