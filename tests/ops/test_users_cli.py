"""`tasktrek users create | set-password | disable` as a subprocess, on the database a real
app serves over HTTP."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tasktrek import Settings, create_app
from tests.ops.conftest import clean_env, tasktrek

SECRET = "admin-test-secret-" + "x" * 40


@pytest.fixture
def db_env(tmp_path) -> dict:
    return clean_env(TASKTREK_DATABASE_URL=f"sqlite:///{tmp_path}/team.db", TASKTREK_JWT_SECRET=SECRET)


@pytest.fixture
async def served(tmp_path, aiohttp_client):
    """The same database, served over HTTP with sign-ups closed."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/team.db", jwt_secret=SECRET, bcrypt_rounds=4, registration="closed")
    return await aiohttp_client(create_app(settings))


async def login(client, email: str, password: str):
    resp = await client.post("/api/users/login", json={"email": email, "password": password})
    return resp.status, await resp.json()


async def test_create_with_registration_closed_then_log_in(db_env, tmp_path, served):
    result = tasktrek("users", "create", "--email", " Ann@Example.com ", "--name", "Ann", env=db_env, cwd=tmp_path, stdin="correct horse\n")
    assert result.returncode == 0, result.stderr
    assert "created user" in result.stdout and "<ann@example.com>" in result.stdout
    status, body = await login(served, "ann@example.com", "correct horse")
    assert status == 200 and body["name"] == "Ann" and body["token"]
    again = tasktrek("users", "create", "--email", "ann@example.com", "--name", "Ann", env=db_env, cwd=tmp_path, stdin="another one\n")
    assert again.returncode == 1 and again.stderr == "tasktrek: email already registered\n"


@pytest.mark.parametrize(
    "args, stdin, problem",
    [
        (["--email", "not-an-address", "--name", "A"], "correct horse\n", "email: Not a valid email address."),
        (["--email", "a@example.com", "--name", "  "], "correct horse\n", "name: "),
        (["--email", "a@example.com", "--name", "A"], "short\n", "password: Must be at least 8 characters."),
        (["--email", "a@example.com", "--name", "A"], "x" * 73 + "\n", "password: Must be at most 72 bytes"),
        (["--email", "a@example.com", "--name", "A"], "", "no password on standard input"),
    ],
)
def test_create_refuses_what_the_api_refuses(db_env, tmp_path, args, stdin, problem):
    result = tasktrek("users", "create", *args, env=db_env, cwd=tmp_path, stdin=stdin)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and problem in result.stderr


async def test_set_password_replaces_the_old_one(db_env, tmp_path, served):
    tasktrek("users", "create", "--email", "bo@example.com", "--name", "Bo", env=db_env, cwd=tmp_path, stdin="first password\n")
    result = tasktrek("users", "set-password", "--email", "BO@example.com", env=db_env, cwd=tmp_path, stdin="second password\n")
    assert result.returncode == 0 and "password set for <bo@example.com>" in result.stdout
    assert (await login(served, "bo@example.com", "first password"))[0] == 401
    assert (await login(served, "bo@example.com", "second password"))[0] == 200


def test_unknown_email_is_one_line_and_status_1(db_env, tmp_path):
    for action in ("set-password", "disable"):
        result = tasktrek("users", action, "--email", "nobody@example.com", env=db_env, cwd=tmp_path, stdin="whatever pw\n")
        assert result.returncode == 1 and result.stderr == "tasktrek: user not found\n"


async def test_disable_revokes_tokens_at_once_and_refuses_logins(db_env, tmp_path, served):
    tasktrek("users", "create", "--email", "cy@example.com", "--name", "Cy", env=db_env, cwd=tmp_path, stdin="cy password\n")
    _, body = await login(served, "cy@example.com", "cy password")
    auth = {"Authorization": f"Bearer {body['token']}"}
    assert (await served.get("/api/users/me", headers=auth)).status == 200

    result = tasktrek("users", "disable", "--email", "cy@example.com", env=db_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    resp = await served.get("/api/users/me", headers=auth)  # the very next request
    assert resp.status == 401 and await resp.json() == {"message": "invalid token"}
    assert await login(served, "cy@example.com", "cy password") == (403, {"message": "account disabled"})
    assert await login(served, "cy@example.com", "wrong password") == (401, {"message": "invalid credentials"})


def test_the_commands_refuse_bad_configuration_like_the_server(tmp_path):
    result = tasktrek("users", "disable", "--email", "a@example.com", env=clean_env(TASKTREK_DATABASE_URL="sqlite://x.db"), cwd=tmp_path)
    assert result.returncode == 2 and "TASKTREK_DATABASE_URL: sqlite://x.db needs three slashes" in result.stderr


def test_users_help_names_the_actions(tmp_path):
    result = tasktrek("users", "--help", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0
    assert all(action in result.stdout for action in ("create", "set-password", "disable"))


def _on_a_terminal(args: list[str], env: dict, answers: list[tuple[bytes, bytes]]) -> tuple[bytes, int]:
    """Run the command with a pseudo-terminal as its terminal; type each answer after its prompt."""
    import os
    import pty
    import select
    import sys

    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its terminal the pty
        os.execve(sys.executable, [sys.executable, "-m", "tasktrek", *args], env)
    seen = b""

    def read_until(token: bytes) -> None:
        nonlocal seen
        while token not in seen:
            ready, _, _ = select.select([fd], [], [], 30)
            assert ready, f"no {token!r} within 30 s: {seen!r}"
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"ended before {token!r}: {seen!r}"
            seen += chunk

    try:
        for prompt, answer in answers:
            read_until(prompt)
            os.write(fd, answer)
        while True:  # the rest of what it prints, until it closes the terminal by exiting
            ready, _, _ = select.select([fd], [], [], 30)
            assert ready, f"still running after 30 s: {seen!r}"
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child has exited
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return seen, os.waitstatus_to_exitcode(status)


async def test_on_a_terminal_the_password_is_asked_twice_without_echo(db_env, served):
    typed, status = _on_a_terminal(["users", "create", "--email", "dee@example.com", "--name", "Dee"], db_env,
                                   [(b"password: ", b"typed on a tty\n"), (b"again: ", b"typed on a tty\n")])
    assert status == 0 and b"created user" in typed and b"typed on a tty" not in typed  # never echoed
    assert (await login(served, "dee@example.com", "typed on a tty"))[0] == 200
    typed, status = _on_a_terminal(["users", "set-password", "--email", "dee@example.com"], db_env,
                                   [(b"password: ", b"one new password\n"), (b"again: ", b"another password\n")])
    assert status == 2 and b"the two passwords differ" in typed
