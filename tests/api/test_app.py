"""The application as operators and embedding applications see it."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from dataclasses import replace

import pytest
from aiohttp import web

from tasktrek import Settings, create_app
from tasktrek.errors import ConfigError
from tasktrek.store import SqliteStore
from tests.conftest import Api


async def test_health_and_readiness(api):
    for path in ("/healthz", "/readyz"):
        resp, body = await api.call("GET", path)
        assert resp.status == 200 and body == {"status": "ok"}
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_database_unreachable_is_503_without_details(aiohttp_client):
    settings = Settings(jwt_secret="s" * 40, database_url="mongodb://127.0.0.1:1/tasktrek?serverSelectionTimeoutMS=200")
    app = create_app(settings)  # starts although the database is down
    client = await aiohttp_client(app)
    resp = await client.get("/readyz")
    assert resp.status == 503 and await resp.json() == {"message": "database unavailable"}
    resp = await client.post("/api/users/login", json={"email": "a@b.c", "password": "12345678"})
    assert resp.status == 503 and await resp.json() == {"message": "database unavailable"}
    resp = await client.get("/healthz")
    assert resp.status == 200  # the process itself still serves


def test_settings_from_environment():
    env = {"PORT": "8080", "MONGO_URI": "mongodb://db/x", "JWT_SECRET": "k" * 32, "TASKTREK_CORS_ORIGINS": "https://a.example, https://b.example",
           "TASKTREK_BCRYPT_ROUNDS": "10", "TASKTREK_PRESENCE_GRACE_SECONDS": "0", "TASKTREK_LOG_LEVEL": "debug"}
    s = Settings.from_env(env)
    assert (s.port, s.database_url, s.jwt_secret, s.bcrypt_rounds, s.presence_grace_seconds, s.log_level) == (8080, "mongodb://db/x", "k" * 32, 10, 0, "DEBUG")
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert Settings.from_env({"PORT": "1", "TASKTREK_PORT": "2"}).port == 2
    caps = Settings.from_env({"TASKTREK_MAX_SOCKETS_PER_USER": "5000", "TASKTREK_MAX_UNAUTHENTICATED_PER_ADDRESS": "7",
                              "TASKTREK_MAX_UNAUTHENTICATED_SOCKETS": "9"})
    assert (caps.max_sockets_per_user, caps.max_unauthenticated_per_address, caps.max_unauthenticated_sockets) == (5000, 7, 9)
    assert Settings.from_env({}) == Settings()
    assert [Settings.from_env({"TASKTREK_ACCESS_LOG": v}).access_log for v in ("off", "ON", "on")] == [False, True, True]


@pytest.mark.parametrize(
    "env",
    [{"TASKTREK_PORT": "eighty"}, {"TASKTREK_PORT": "70000"}, {"TASKTREK_DATABASE_URL": "postgres://x"},
     {"TASKTREK_JWT_SECRET": "short"}, {"TASKTREK_BCRYPT_ROUNDS": "3"}, {"TASKTREK_LOG_LEVEL": "LOUD"},
     {"TASKTREK_PING_INTERVAL_SECONDS": "-1"}, {"TASKTREK_MAX_SOCKETS_PER_USER": "0"}],
)
def test_bad_settings_are_refused(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_mongodb_requires_a_secret():
    with pytest.raises(ConfigError, match="required"):
        create_app(Settings(database_url="mongodb://127.0.0.1:1/x"))


@pytest.mark.parametrize("env, message", [({"TASKTREK_PORT": "x"}, "TASKTREK_PORT"), ({"TASKTREK_DATABASE_URL": "redis://x"}, "TASKTREK_DATABASE_URL"),
                                          ({"TASKTREK_JWT_SECRET": "tiny"}, "at least 32 bytes")])
def test_cli_bad_configuration_is_one_clear_line(tmp_path, env, message):
    result = subprocess.run([sys.executable, "-m", "tasktrek"], env={**os.environ, **env}, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


async def test_secret_is_generated_once_and_kept_private(tmp_path, aiohttp_client):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/data/app.db", bcrypt_rounds=4)
    client = await aiohttp_client(create_app(settings))
    user = await Api(client).register()
    secret_file = tmp_path / "data" / "app.db.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(secret_file.read_text().strip()) >= 32
    await client.close()
    again = await aiohttp_client(create_app(settings))  # a restart keeps tokens valid
    resp = await again.get("/api/users/me", headers=user.auth)
    assert resp.status == 200


async def test_unexpected_errors_are_logged_and_answered_without_details(app, aiohttp_client, caplog):
    async def broken(request):
        raise RuntimeError("secret internals")

    app.router.add_get("/healthz/broken", broken)
    client = await aiohttp_client(app)
    api = Api(client)
    user = await api.register()
    resp, body = await api.call("GET", "/healthz/broken", user)
    assert resp.status == 500 and body == {"message": "internal error"}
    request_id = resp.headers["X-Request-Id"]
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


async def test_mounted_as_subapp_under_prefix(settings, aiohttp_client):
    host = web.Application()

    async def home(request):
        return web.json_response({"host": True})

    host.router.add_get("/", home)
    host.add_subapp("/tasktrek/", create_app(settings))
    client = await aiohttp_client(host)
    resp = await client.post("/tasktrek/api/users", json={"name": "A", "email": "a@example.com", "password": "12345678"})
    assert resp.status == 201
    token = (await resp.json())["token"]
    resp = await client.get("/tasktrek/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    resp = await client.get("/tasktrek/api/users/me")
    assert resp.status == 401
    assert (await client.get("/tasktrek/healthz")).status == 200
    assert (await client.get("/")).status == 200


async def test_two_apps_in_one_process_share_nothing(tmp_path, aiohttp_client):
    first = await aiohttp_client(create_app(Settings(database_url=f"sqlite:///{tmp_path}/a.db", jwt_secret="a" * 40, bcrypt_rounds=4)))
    second = await aiohttp_client(create_app(Settings(database_url=f"sqlite:///{tmp_path}/b.db", jwt_secret="b" * 40, bcrypt_rounds=4)))
    user = await Api(first).register()
    assert (await first.get("/api/users/me", headers=user.auth)).status == 200
    assert (await second.get("/api/users/me", headers=user.auth)).status == 401


async def test_cors_for_listed_origins(settings, aiohttp_client):
    client = await aiohttp_client(create_app(replace(settings, cors_origins=("https://app.example",))))
    preflight = await client.options("/api/tasks", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                                                             "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    resp = await client.get("/api/tasks", headers={"Origin": "https://app.example"})
    assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    resp = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    refused = await client.options("/api/tasks", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert refused.status == 403


async def test_cors_wildcard_never_with_credentials(settings, aiohttp_client):
    client = await aiohttp_client(create_app(replace(settings, cors_origins=("*",))))
    resp = await client.get("/healthz", headers={"Origin": "https://any.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers


async def test_no_cors_headers_by_default(client):
    resp = await client.get("/healthz", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_database_outage_at_start_is_503_then_recovers(tmp_path, aiohttp_client):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the database directory should be")
    # Passed in as a store: the app then cannot check the path before serving (a URL in
    # the settings would be refused at once, see tests/ops).
    settings = Settings(jwt_secret="s" * 40, bcrypt_rounds=4)
    client = await aiohttp_client(create_app(settings, store=SqliteStore(blocker / "app.db")))
    resp = await client.post("/api/users", json={"name": "A", "email": "a@example.com", "password": "12345678"})
    assert resp.status == 503 and await resp.json() == {"message": "database unavailable"}
    assert (await client.get("/readyz")).status == 503
    blocker.unlink()  # the database can be opened again; the app retries by itself
    async with asyncio.timeout(10):
        while (await client.get("/readyz")).status != 200:
            await asyncio.sleep(0.05)
    resp = await client.post("/api/users", json={"name": "A", "email": "a@example.com", "password": "12345678"})
    assert resp.status == 201


@pytest.mark.parametrize("args, env, message", [(["--port", "99999"], {}, "--port"), ([], {"PORT": "99999"}, "PORT: 99999"),
                                                 ([], {"TASKTREK_PRESENCE_GRACE_SECONDS": "nan"}, "finite"),
                                                 ([], {"TASKTREK_REDIS_URL": "redis://cache:port"}, "TASKTREK_REDIS_URL: bad port"),
                                                 ([], {"TASKTREK_DATABASE_URL": "mongodb://localhost:99999", "TASKTREK_JWT_SECRET": "s" * 40}, "TASKTREK_DATABASE_URL"),
                                                 ([], {"TASKTREK_DATABASE_URL": "sqlite:////proc/none/x.db"}, "TASKTREK_DATABASE_URL: cannot create")])
def test_cli_refuses_bad_values_in_one_line(tmp_path, args, env, message):
    result = subprocess.run([sys.executable, "-m", "tasktrek", *args], env={**os.environ, **env}, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_cli_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "tasktrek", "--port", str(port)], cwd=tmp_path,
                                env={**os.environ, "TASKTREK_BCRYPT_ROUNDS": "4"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "cannot serve on" in result.stderr and "Traceback" not in result.stderr
