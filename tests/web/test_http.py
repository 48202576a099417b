"""The board's files over HTTP, their security headers, the vendored socket.io-client, and
the packaging that ships them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from tasktrek.http.board import CONTENT_SECURITY_POLICY, WEB_ROOT, board_files

ROOT = Path(__file__).resolve().parent.parent.parent
JS_DIR = ROOT / "tests" / "js"
VENDOR = WEB_ROOT / "vendor"


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


@pytest.mark.parametrize("prefix", ["", "/tasks/"])
async def test_page_and_assets_need_no_token_and_carry_the_policy(serve, prefix):
    url = await serve(prefix)
    async with aiohttp.ClientSession() as http:
        for path, content_type in [("", "text/html"), ("board/main.js", "text/javascript"), ("board/board.css", "text/css"),
                                   ("board/vendor/socket.io.esm.min.js", "text/javascript")]:
            async with http.get(url + path) as resp:
                assert resp.status == 200, path
                assert resp.content_type == content_type
                assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(url) as resp:
            page = await resp.text()
        # Relative URLs only, so that the page works under any prefix.
        assert re.findall(r'(?:src|href)="([^"#][^"]*)"', page) == ["board/icon.svg", "board/board.css", "board/main.js"]


async def test_the_policy_allows_only_the_apps_own_scripts_and_endpoints():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other origin
    assert policy["connect-src"] == "'self'"  # the API and /socket.io/ (ws: included, CSP Level 3)
    assert policy["frame-ancestors"] == "'none'"


async def test_only_the_shipped_files_are_served(serve):
    url = await serve()
    async with aiohttp.ClientSession() as http:
        # Sent as written: names that would climb out of the folder if they reached the disk.
        for path in ["board/nothing.js", "board/..%2fapp.py", "board/%2e%2e%2f__init__.py", "board/vendor", "board/vendor/"]:
            async with http.get(URL(url + path, encoded=True)) as resp:
                assert resp.status == 404, path
                assert (await resp.json()) == {"message": "not found"}
        async with http.post(url) as resp:  # the page is GET only, and still no 401
            assert resp.status == 405


def test_no_script_parses_api_data_as_html():
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function")
    for path in WEB_ROOT.glob("*.js"):
        assert not sinks.search(path.read_text()), f"{path.name} uses an HTML or code sink"


def pinned_socketio_client() -> str:
    return json.loads((JS_DIR / "package.json").read_text())["dependencies"]["socket.io-client"]


def test_vendored_socketio_client_is_the_pinned_packages_own_file():
    package = JS_DIR / "node_modules" / "socket.io-client"
    installed = json.loads((package / "package.json").read_text())["version"]
    locked = json.loads((JS_DIR / "package-lock.json").read_text())["packages"]["node_modules/socket.io-client"]["version"]
    assert installed == locked == pinned_socketio_client(), "run `npm ci --prefix tests/js`"
    assert (VENDOR / "socket.io.esm.min.js").read_bytes() == (package / "dist" / "socket.io.esm.min.js").read_bytes(), (
        "tasktrek/web/vendor differs from the pinned socket.io-client: run `make web-vendor`"
    )
    assert (VENDOR / "socket.io-client.LICENSE.txt").read_bytes() == (package / "LICENSE").read_bytes()
    assert f"Socket.IO v{installed}" in (VENDOR / "socket.io.esm.min.js").read_text()[:200]


def test_a_built_wheel_ships_every_board_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"tasktrek/web/{name}" for name in board_files()}
    assert "tasktrek/web/index.html" in expected and "tasktrek/web/vendor/socket.io.esm.min.js" in expected
    assert expected <= shipped, f"missing from the wheel: {sorted(expected - shipped)}"
