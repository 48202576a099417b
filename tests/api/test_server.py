"""The app as the command line serves it: aiohttp's own errors as JSON, and an access log
that never holds a token."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import tasktrek
from tasktrek import create_app

from tasktrek.http.server import YOUNG_GC_THRESHOLD, AccessLogger, RedactingFormatter, Runner, redact


async def exchange(served, raw: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes, read the whole answer (the server closes after an error)."""
    reader, writer = await asyncio.open_connection(served.host, served.port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n")[1:])
    return status, headers, body


@pytest.mark.parametrize(
    "raw",
    [
        b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\x01?token=secret HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST /api/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS on the HTTP port
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    ],
    ids=["unknown-method", "control-char-in-url", "two-lengths", "bad-chunk", "bad-header", "tls", "long-line"],
)
async def test_unparseable_requests_get_a_json_error_and_no_traceback(served, logs, raw):
    status, headers, body = await exchange(served, raw)
    assert 400 <= status < 500
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"message": "malformed HTTP request" if status == 400 else "request header fields too large"}
    assert logs.at_least(logging.WARNING) == [] and logs.tracebacks == []


async def test_the_access_log_never_holds_a_token(served, api_on_served, logs):
    user = await api_on_served.register()
    token = user.token
    async with aiohttp.ClientSession() as session:
        await (await session.get(f"{served.url}/socket.io/", params={"EIO": "4", "transport": "polling", "token": token})).read()
        await (await session.get(f"{served.url}/socket.io/?EIO=4&transport=polling&%74oken={token}")).read()
        await (await session.get(f"{served.url}/api/users/me", headers={"Authorization": f"Bearer {token}",
                                                                       "Referer": f"http://app/?token={token}"})).read()
        await (await session.get(f"{served.url}/api/users/me?access_token={token}", headers=user.auth)).read()
    await logs.wait_for(lambda r: r.name == "aiohttp.access" and "access_token" in r.getMessage())
    lines = [r.getMessage() for r in logs.records if r.name == "aiohttp.access"]
    assert len(lines) >= 5
    assert not [line for line in lines if token in line or token.split(".")[2] in line]
    assert sum("[redacted]" in line for line in lines) >= 4


@pytest.mark.parametrize("trusted, logged", [((), "127.0.0.1"), ((ip_network("127.0.0.0/8"),), "203.0.113.7")])
async def test_the_access_log_believes_x_forwarded_for_only_from_trusted_proxies(settings, logs, trusted, logged):
    runner = Runner(create_app(replace(settings, trusted_proxies=trusted)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            await (await session.get(f"http://{host}:{port}/healthz", headers={"X-Forwarded-For": "203.0.113.7"})).read()
        record = await logs.wait_for(lambda r: r.name == "aiohttp.access" and "/healthz" in r.getMessage())
    finally:
        await runner.cleanup()
    assert record.getMessage().startswith(f"{logged} ")


async def _served_lines(app, logs, *paths: str) -> list[str]:
    """The access log's lines for `paths`, requested one after another on one connection:
    aiohttp logs a request before it handles the next one from the same connection, so every
    path but the last is in (or would be) when this returns."""
    runner = Runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            for path in paths:
                await (await session.get(f"http://{host}:{port}{path}")).read()
    finally:
        await runner.cleanup()
    return [r.getMessage() for r in logs.records if r.name == "aiohttp.access"]


async def test_the_access_log_can_be_turned_off(settings, logs):
    assert await _served_lines(create_app(replace(settings, access_log=False)), logs, "/healthz", "/readyz") == []


async def test_the_access_log_is_not_formatted_when_info_is_not_logged(settings, logs):
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.WARNING)
    try:
        lines = await _served_lines(create_app(settings), logs, "/healthz", "/readyz")
        assert AccessLogger(access, "").enabled is False
    finally:
        access.setLevel(logging.NOTSET)
    assert lines == []
    assert AccessLogger(access, "").enabled is True


async def test_the_access_log_has_a_line_per_request_by_default(settings, logs):
    lines = await _served_lines(create_app(settings), logs, "/healthz", "/readyz", "/healthz")
    assert [line.split('"')[1] for line in lines[:2]] == ["GET /healthz HTTP/1.1", "GET /readyz HTTP/1.1"]


def test_the_log_formatter_redacts_tokens_in_messages_and_tracebacks():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
    try:
        raise ValueError(f"bad token {token}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET /?token=%s Authorization: Bearer %s",
                                   ("abc.def", "opaque-secret"), sys.exc_info())
    line = RedactingFormatter("%(message)s").format(record)
    assert token not in line and "abc.def" not in line and "opaque-secret" not in line
    assert line.count("[redacted]") == 3


@pytest.mark.parametrize(
    "text, expected",
    [("/x?token=a.b.c&y=1", "/x?token=[redacted]&y=1"), ("/x?TOKEN=abc", "/x?TOKEN=[redacted]"),
     ("Authorization: Bearer abc", "Authorization: Bearer [redacted]"), ("eyJa.eyJb.c", "[redacted]"),
     ("nothing secret", "nothing secret")],
)
def test_redact(text, expected):
    assert redact(text) == expected


SERVE_AND_REPORT_GC = """
import gc, os, signal
from tasktrek import create_app
from tasktrek.http import server
from tasktrek.settings import Settings

def report():
    print(gc.get_freeze_count(), gc.get_threshold()[0], gc.isenabled(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

settings = Settings(database_url="sqlite:///" + os.environ["DB"], jwt_secret="x" * 40, bcrypt_rounds=4)
server.run(create_app(settings), host="127.0.0.1", port=0, shutdown_timeout=1, on_serving=report)
"""


def test_serving_freezes_what_start_up_left_and_collects_the_young_less_often(tmp_path):
    done = subprocess.run([sys.executable, "-c", SERVE_AND_REPORT_GC], env={"DB": str(tmp_path / "t.db")},
                          cwd=Path(tasktrek.__file__).parent.parent, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    frozen, young, enabled = done.stdout.split()
    assert int(frozen) > 10_000  # the modules, the application and its documents
    assert (int(young), enabled) == (YOUNG_GC_THRESHOLD, "True")


async def test_an_application_embedding_tasktrek_keeps_its_own_collector_settings(served, api_on_served):
    """The embedder's runner (here the fixture's) starts the app; nothing touches the
    process-wide collector."""
    assert (await api_on_served.client.get("/healthz")).status == 200
    assert gc.get_freeze_count() == 0 and gc.get_threshold()[0] != YOUNG_GC_THRESHOLD
