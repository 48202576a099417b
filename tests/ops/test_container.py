"""The Docker image, simulated: no Docker engine runs here, so the image's own environment
(its ENV lines) and working directory are read from the Dockerfile, and its CMD and
HEALTHCHECK are run with them, plus what an operator or a PaaS would set."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.ops.conftest import clean_env, serving

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_MONGO = "mongodb://127.0.0.1:1/tasktrek?serverSelectionTimeoutMS=200"


def final_stage() -> list[str]:
    """The Dockerfile's instructions (continuations joined) after its last FROM."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def instruction(name: str) -> list[str]:
    return [line[len(name) + 1:].strip() for line in final_stage() if line.startswith(name + " ")]


def image_env() -> dict[str, str]:
    env = {}
    for line in instruction("ENV"):
        env.update(item.split("=", 1) for item in shlex.split(line))
    return env


def exec_form(text: str) -> list[str]:
    """A JSON-array (exec form) CMD, with the console script resolved in this venv."""
    command = json.loads(text)
    return [str(Path(sys.executable).parent / "tasktrek") if command[0] == "tasktrek" else sys.executable if command[0] == "python" else command[0], *command[1:]]


def cmd() -> list[str]:
    (text,) = instruction("CMD")
    return exec_form(text)


def healthcheck(env: dict, cwd: Path) -> int:
    (text,) = instruction("HEALTHCHECK")
    command = exec_form(text[text.index("CMD ") + 4:])
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=30).returncode


def test_the_image_sets_no_database_port_or_secret_and_keeps_sqlite_on_its_volume():
    env = image_env()
    assert env["TASKTREK_HOST"] == "0.0.0.0"
    assert not {"TASKTREK_DATABASE_URL", "MONGO_URI", "TASKTREK_PORT", "PORT", "TASKTREK_JWT_SECRET", "JWT_SECRET"} & set(env)
    (workdir,) = instruction("WORKDIR")
    assert workdir == "/data" and '"/data"' in instruction("VOLUME")[0]
    assert instruction("USER") == ["tasktrek"]


def test_the_image_python_is_the_one_the_package_is_tested_on():
    versions = {re.match(r"python:(\d+\.\d+)-", line).group(1) for line in
                (l.split()[1] for l in (ROOT / "Dockerfile").read_text().splitlines() if l.startswith("FROM "))}
    tested = f"{sys.version_info.major}.{sys.version_info.minor}"
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert versions == {tested}
    assert f"Programming Language :: Python :: {tested}" in setup["metadata"]["classifiers"]


def test_mongo_uri_alone_selects_mongodb_and_the_health_check_reflects_readiness(tmp_path):
    # What a PaaS sets: PORT, MONGO_URI and JWT_SECRET, nothing TaskTrek-specific.
    env = clean_env(**image_env(), MONGO_URI=UNREACHABLE_MONGO, JWT_SECRET="p" * 40)
    with serving(env, tmp_path, command=cmd(), port_variable="PORT") as server:
        assert server.process.poll() is None, server.output()
        unhealthy = healthcheck({**env, "PORT": str(server.port)}, tmp_path)
    output = server.output()
    assert f"serving on http://0.0.0.0:{server.port}" in output
    assert "data: MongoDB mongodb://127.0.0.1:1/tasktrek" in output and "SQLite" not in output
    assert unhealthy == 1  # the database does not answer: not ready
    assert not list(tmp_path.iterdir())  # no SQLite file made on the side


def test_with_nothing_set_the_image_serves_sqlite_from_its_volume_and_is_healthy(tmp_path):
    volume = tmp_path / "data"  # stands for WORKDIR /data
    volume.mkdir()
    env = clean_env(**image_env())
    with serving(env, volume, command=cmd(), port_variable="PORT") as server:
        healthy = healthcheck({**env, "PORT": str(server.port)}, volume)
    assert healthy == 0, server.output()
    assert f"data: SQLite {volume / 'tasktrek.db'}; JWT secret: kept in {volume / 'tasktrek.db.secret'}" in server.output()
    assert (volume / "tasktrek.db").exists() and (volume / "tasktrek.db.secret").exists()


def test_compose_runs_a_replica_set_mongodb_redis_and_two_nodes_behind_nginx_that_restart():
    import yaml

    from tasktrek import Settings

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) >= {"mongo", "redis", "tasktrek-1", "tasktrek-2", "nginx"}
    assert all(service.get("restart") in ("unless-stopped", "always") for service in services.values())
    mongo = services["mongo"]
    assert mongo["command"][:2] == ["--replSet", "rs0"] and "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    names = set()
    for name in ("tasktrek-1", "tasktrek-2"):
        node = services[name]
        assert node["depends_on"] == {"mongo": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
        secret = node["environment"]["TASKTREK_JWT_SECRET"]
        assert secret.startswith("${JWT_SECRET:?")  # compose refuses to start without it
        # The node's environment as compose would give it, on top of the image's.
        env = {**image_env(), **node["environment"], "TASKTREK_JWT_SECRET": "c" * 40}
        settings = Settings.from_env(env)
        assert settings.database_url == "mongodb://mongo:27017/tasktrek?replicaSet=rs0"
        assert settings.redis_url == "redis://redis:6379/0" and settings.host == "0.0.0.0"
        names.add(settings.node_name)
    # nginx routes a session's requests by the node name its sid starts with (docs/scaling.md)
    nginx_conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert services["nginx"]["volumes"] == ["./deploy/nginx.conf:/etc/nginx/nginx.conf:ro"]
    assert len(names) == 2 and all(f"~^{name}\\." in nginx_conf for name in names)
