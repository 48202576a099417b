"""Users and authentication through the real HTTP app."""

from __future__ import annotations

import time

import jwt
import pytest

from tasktrek.events import UserLoggedOut
from tasktrek.http.keys import SERVICES
from tests.conftest import TEST_SECRET


async def test_register_returns_user_and_working_token(api):
    resp, body = await api.call("POST", "/api/users", json={"name": "  Ada ", "email": " Ada@Example.COM ", "password": "long enough"})
    assert resp.status == 201
    assert set(body) == {"_id", "name", "email", "token"}
    assert body["name"] == "Ada" and body["email"] == "ada@example.com"
    claims = jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["id"] == claims["sub"] == body["_id"]
    assert claims["exp"] - claims["iat"] == pytest.approx(30 * 24 * 3600, abs=1)
    resp, me = await api.call("GET", "/api/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert resp.status == 200
    assert set(me) == {"_id", "name", "email", "createdAt"}
    assert me["createdAt"].endswith("Z") and len(me["createdAt"]) == 24


async def test_register_duplicate_email_case_insensitive_is_409(api):
    await api.call("POST", "/api/users", json={"name": "A", "email": "dup@example.com", "password": "12345678"})
    resp, body = await api.call("POST", "/api/users", json={"name": "B", "email": "DUP@example.com", "password": "12345678"})
    assert resp.status == 409 and body == {"message": "email already registered"}


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "", "email": "a@example.com", "password": "12345678"}, "name"),
        ({"name": "   ", "email": "a@example.com", "password": "12345678"}, "name"),
        ({"name": "x" * 101, "email": "a@example.com", "password": "12345678"}, "name"),
        ({"name": "A", "email": "not-an-email", "password": "12345678"}, "email"),
        ({"name": "A", "email": "a@example.com", "password": "1234567"}, "password"),
        ({"name": "A", "email": "a@example.com", "password": "é" * 37}, "password"),  # 74 bytes
        ({"name": "A", "email": "a@example.com"}, "password"),
        ({"name": "A", "email": {"$ne": None}, "password": "12345678"}, "email"),
        ({"name": 5, "email": "a@example.com", "password": "12345678"}, "name"),
        ({"name": "A", "email": "a@example.com", "password": "12345678", "isAdmin": True}, "isAdmin"),
    ],
)
async def test_register_validation(api, payload, field):
    resp, body = await api.call("POST", "/api/users", json=payload)
    assert resp.status == 400
    assert field in body["errors"]
    resp, _ = await api.call("POST", "/api/users/login", json={"email": "a@example.com", "password": "12345678"})
    assert resp.status == 401  # nothing was created


async def test_password_of_72_bytes_is_accepted_and_not_truncated(api):
    password = "é" * 36  # 72 bytes
    resp, _ = await api.call("POST", "/api/users", json={"name": "A", "email": "p@example.com", "password": password})
    assert resp.status == 201
    ok, _ = await api.call("POST", "/api/users/login", json={"email": "p@example.com", "password": password})
    assert ok.status == 200
    longer, body = await api.call("POST", "/api/users/login", json={"email": "p@example.com", "password": password + "x"})
    assert longer.status == 401 and body == {"message": "invalid credentials"}


async def test_login_success_and_uniform_failures(api):
    user = await api.register("Bob", password="right password")
    resp, body = await api.call("POST", "/api/users/login", json={"email": user.email.upper(), "password": "right password"})
    assert resp.status == 200 and body["_id"] == user.id and body["token"]
    wrong_password = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "wrong password"})
    unknown_email = await api.call("POST", "/api/users/login", json={"email": "nobody@example.com", "password": "wrong password"})
    for resp, body in (wrong_password, unknown_email):
        assert resp.status == 401 and body == {"message": "invalid credentials"}


@pytest.mark.parametrize("payload", [{"email": {"$ne": None}, "password": "x"}, {"email": "a@b.c", "password": {"$gt": ""}}, {"email": "a@b.c"}, {"email": ["a"], "password": "p"}])
async def test_login_with_non_strings_is_400(api, payload):
    resp, body = await api.call("POST", "/api/users/login", json=payload)
    assert resp.status == 400 and body["errors"]


async def test_login_rate_limit_per_email_and_client(api, app):
    user = await api.register(password="the password")
    for _ in range(10):
        resp, _ = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "bad password"})
        assert resp.status == 401
    resp, body = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "the password"})
    assert resp.status == 429 and body["message"]
    assert 1 <= int(resp.headers["Retry-After"]) <= 15 * 60
    other = await api.register(password="the password")
    resp, _ = await api.call("POST", "/api/users/login", json={"email": other.email, "password": "the password"})
    assert resp.status == 200  # another email is not affected


async def test_lookup_exact_case_insensitive_only(api):
    alice, bob = await api.register("Alice"), await api.register("Bob")
    resp, body = await api.call("GET", "/api/users/lookup", alice, params={"email": bob.email.upper()})
    assert resp.status == 200 and body == {"_id": bob.id, "name": "Bob", "email": bob.email}
    resp, _ = await api.call("GET", "/api/users/lookup", alice, params={"email": bob.email[:-3]})
    assert resp.status == 404
    resp, body = await api.call("GET", "/api/users/lookup", alice)
    assert resp.status == 400 and "email" in body["errors"]


async def test_logout_revokes_earlier_tokens_only(api, events):
    user = await api.register()
    resp, body = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "correct horse"})
    second = body["token"]
    resp, _ = await api.call("POST", "/api/users/logout", user)
    assert resp.status == 204
    assert UserLoggedOut(user.id) in events
    for token in (user.token, second):
        resp, body = await api.call("GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 401 and body == {"message": "invalid token"}
    resp, body = await api.call("POST", "/api/users/login", json={"email": user.email, "password": "correct horse"})
    resp, _ = await api.call("GET", "/api/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert resp.status == 200


async def test_token_issued_a_millisecond_after_logout_works(api, app):
    user = await api.register()
    await api.call("POST", "/api/users/logout", user)
    now = time.time() + 0.001
    token = jwt.encode({"id": user.id, "sub": user.id, "iat": now, "exp": int(now) + 60}, TEST_SECRET, algorithm="HS256")
    resp, _ = await api.call("GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200


def _token(claims: dict, secret: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _unsigned(claims: dict) -> str:
    return jwt.encode(claims, None, algorithm="none")


@pytest.mark.parametrize(
    "make_header, message",
    [
        (lambda u: None, "no token provided"),
        (lambda u: "Bearer", "no token provided"),
        (lambda u: f"Basic {u.token}", "no token provided"),
        (lambda u: "Bearer not.a.jwt", "invalid token"),
        (lambda u: "Bearer a b c", "invalid token"),
        (lambda u: f"Bearer {u.token}x", "invalid token"),
        (lambda u: "Bearer " + _token({"id": u.id, "sub": u.id, "iat": time.time() - 100, "exp": int(time.time()) - 10}), "invalid token"),
        (lambda u: "Bearer " + _token({"id": u.id, "iat": time.time(), "exp": int(time.time()) + 60}, secret="another-secret-" + "y" * 40), "invalid token"),
        (lambda u: "Bearer " + _unsigned({"id": u.id, "sub": u.id, "iat": time.time(), "exp": int(time.time()) + 60}), "invalid token"),
        (lambda u: "Bearer " + _token({"id": "0" * 24, "sub": "0" * 24, "iat": time.time(), "exp": int(time.time()) + 60}), "invalid token"),
        (lambda u: "Bearer " + _token({"id": u.id, "iat": time.time()}), "invalid token"),  # no exp
        (lambda u: "Bearer " + _token({"id": {"$ne": None}, "iat": time.time(), "exp": int(time.time()) + 60}), "invalid token"),
    ],
    ids=["missing", "empty-bearer", "basic", "malformed", "spaces", "bad-signature", "expired", "foreign-secret", "alg-none", "unknown-user", "no-exp", "operator-id"],
)
async def test_bad_tokens_are_401(api, make_header, message):
    user = await api.register()
    header = make_header(user)
    headers = {"Authorization": header} if header is not None else {}
    for method, path in (("GET", "/api/users/me"), ("GET", "/api/tasks"), ("POST", "/api/users/logout")):
        resp, body = await api.call(method, path, headers=headers)
        assert resp.status == 401 and body == {"message": message}, (method, path)
    resp, _ = await api.call("GET", "/api/users/me", user)
    assert resp.status == 200  # the real token still works: nothing was revoked


async def test_a_token_used_before_is_still_refused_at_once_after_logout_or_disable(api, app):
    """Verified tokens are cached; revocation and disabling are checked on every request."""
    for end_it in ("logout", "disable"):
        user = await api.register()
        for _ in range(2):
            resp, body = await api.call("GET", "/api/users/me", user)
            assert resp.status == 200 and body["_id"] == user.id
        if end_it == "logout":
            assert (await api.call("POST", "/api/users/logout", user))[0].status == 204
        else:
            await app[SERVICES].users.disable(user.email)
        resp, body = await api.call("GET", "/api/users/me", user)
        assert resp.status == 401 and body == {"message": "invalid token"}
