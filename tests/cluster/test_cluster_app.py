"""Cluster mode as an operator sees one node: configuration, start-up with and without
Redis, /readyz, and redis-py not even imported when cluster mode is off."""

from __future__ import annotations

import logging
import subprocess
import sys

import jsonschema
import pytest

from tasktrek import Settings, create_app
from tasktrek.errors import ConfigError
from tests.conftest import TEST_SECRET

from .conftest import db_of


def settings_for(tmp_path, **values) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/t.db", jwt_secret=TEST_SECRET, bcrypt_rounds=4, **values)


def test_cluster_settings_from_the_environment():
    settings = Settings.from_env({"TASKTREK_REDIS_URL": "redis://cache:6379/2", "TASKTREK_NODE_TTL_SECONDS": "30"})
    assert (settings.redis_url, settings.node_ttl_seconds, settings.redis_prefix) == ("redis://cache:6379/2", 30, "tasktrek:")
    assert Settings.from_env({}).redis_url is None
    assert Settings.from_env({}).node_ttl_seconds == 15
    assert Settings.from_env({"TASKTREK_REDIS_PREFIX": "team-a:"}).redis_prefix == "team-a:"
    for url in ("redis://cache", "rediss://:pw@cache:6380/", "redis://cache/15", "unix:///run/redis.sock?db=1"):
        assert Settings.from_env({"TASKTREK_REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize("env, message", [
    ({"TASKTREK_REDIS_URL": "http://cache:6379"}, "TASKTREK_REDIS_URL: expected redis://"),
    ({"TASKTREK_REDIS_URL": "redis://cache:63x9"}, "TASKTREK_REDIS_URL: bad port"),
    ({"TASKTREK_REDIS_URL": "redis://cache:99999/0"}, "TASKTREK_REDIS_URL: bad port"),
    ({"TASKTREK_REDIS_URL": "redis://cache:6379/two"}, "TASKTREK_REDIS_URL: the database .* is not a number"),
    ({"TASKTREK_NODE_TTL_SECONDS": "0"}, "TASKTREK_NODE_TTL_SECONDS: 0 is out of range"),
    ({"TASKTREK_NODE_TTL_SECONDS": "soon"}, "TASKTREK_NODE_TTL_SECONDS: not a number"),
])
def test_bad_cluster_settings_are_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_without_a_redis_url_redis_is_not_imported(tmp_path):
    code = (
        "import sys; from tasktrek import Settings, create_app; "
        f"create_app(Settings(database_url='sqlite:///{tmp_path}/t.db', jwt_secret='{TEST_SECRET}')); "
        "assert not any(m == 'redis' or m.startswith('redis.') for m in sys.modules), 'redis imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


async def test_readyz_reports_redis(tmp_path, aiohttp_client, redis_url, redis):
    client = await aiohttp_client(create_app(settings_for(tmp_path, redis_url=redis_url)))
    resp = await client.get("/readyz")
    assert resp.status == 200 and await resp.json() == {"status": "ok", "redis": "ok"}
    # ... as the served document says (both answers: Redis answering or not)
    document = await (await client.get("/api/openapi.json")).json()
    schema = document["paths"]["/readyz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    for body in ({"status": "ok", "redis": "ok"}, {"status": "ok", "redis": "unavailable"}, {"status": "ok"}):
        validator.validate(body)
    assert not validator.is_valid({"status": "ok", "redis": "maybe"})


async def test_redis_down_at_start_up_is_said_and_the_api_serves(tmp_path, aiohttp_client, redis_proxy, redis_url, caplog):
    url = redis_proxy.url(db_of(redis_url))
    await redis_proxy.stop()
    with caplog.at_level(logging.WARNING, logger="tasktrek.cluster"):
        client = await aiohttp_client(create_app(settings_for(tmp_path, redis_url=url)))
    (line,) = [r.getMessage() for r in caplog.records if "Redis" in r.getMessage()]
    assert f"{url} unavailable" in line and "waits for it" in line
    resp = await client.get("/readyz")
    assert resp.status == 200 and await resp.json() == {"status": "ok", "redis": "unavailable"}
    resp = await client.post("/api/users", json={"name": "A", "email": "a@example.com", "password": "12345678"})
    assert resp.status == 201  # REST does not need Redis
    await redis_proxy.start()
    resp = await client.get("/readyz")
    assert await resp.json() == {"status": "ok", "redis": "ok"}


def test_credentials_in_the_redis_url_are_not_logged():
    from tasktrek.cluster.connection import describe

    assert describe("rediss://user:s3cret@cache.example:6380/1") == "rediss://cache.example:6380/1"


def test_a_node_name_prefixes_engine_io_session_ids():
    from tasktrek.realtime.options import RealtimeOptions

    settings = Settings.from_env({"TASKTREK_NODE_NAME": "node-2"})
    assert RealtimeOptions.from_settings(settings).sid_prefix == "node-2."
    assert RealtimeOptions.from_settings(Settings.from_env({})).sid_prefix == ""
    with pytest.raises(ConfigError, match="TASKTREK_NODE_NAME"):
        Settings.from_env({"TASKTREK_NODE_NAME": "a.b"})
