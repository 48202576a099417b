"""The verified-token cache against its slow twin, PyJWT's decode on every use."""

from __future__ import annotations

import time

import jwt
import pytest

from tasktrek.services.tokens import VerifiedTokens

SECRET = "tokens-secret-" + "z" * 40


def _token(claims: dict, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _outcome(call):
    try:
        return dict(call())
    except jwt.InvalidTokenError as exc:
        return type(exc)


def _tokens() -> dict[str, str]:
    """Every kind of token, made when the test runs (their times are relative to now)."""
    now = time.time()
    return {
        "valid": _token({"id": "a", "sub": "a", "iat": now, "exp": int(now) + 600}),
        "float-exp": _token({"sub": "a", "iat": now, "exp": now + 600.9}),
        "expired": _token({"sub": "a", "iat": now - 100, "exp": int(now) - 10}),
        "issued-in-the-future": _token({"sub": "a", "iat": now + 600, "exp": int(now) + 1200}),
        "no-exp": _token({"sub": "a", "iat": now}),
        "no-iat": _token({"sub": "a", "exp": int(now) + 600}),
        "foreign-secret": _token({"sub": "a", "iat": now, "exp": int(now) + 600}, secret="other-" + "y" * 40),
        "alg-none": jwt.encode({"sub": "a", "iat": now, "exp": int(now) + 600}, None, algorithm="none"),
        "garbage": "not.a.jwt",
    }


KINDS = list(_tokens())


@pytest.mark.parametrize("name", KINDS)
def test_each_use_answers_what_pyjwt_answers(name):
    tokens = VerifiedTokens(SECRET)
    token = _tokens()[name]
    expected = _outcome(lambda: tokens.verify(token))
    assert _outcome(lambda: tokens.claims(token)) == expected  # first use: verified
    assert _outcome(lambda: tokens.claims(token)) == expected  # second use: from the cache when valid
    assert (token in tokens) == isinstance(expected, dict)  # only verified tokens are kept
    if name == "valid":
        assert expected["sub"] == "a"


def test_expiry_is_checked_on_every_use():
    issued = time.time()
    now = [issued]
    tokens = VerifiedTokens(SECRET, clock=lambda: now[0])
    exp = int(issued) + 60
    token = _token({"sub": "a", "iat": issued, "exp": exp})
    assert tokens.claims(token)["exp"] == exp
    now[0] = exp - 0.001
    assert tokens.claims(token)["exp"] == exp  # still valid, from the cache
    now[0] = exp  # PyJWT: expired once exp <= now
    with pytest.raises(jwt.ExpiredSignatureError):
        tokens.claims(token)
    assert token not in tokens


def test_the_cache_is_bounded_and_keeps_the_recently_used():
    tokens = VerifiedTokens(SECRET, max_tokens=2)
    now = time.time()
    first, second, third = (_token({"sub": str(i), "iat": now, "exp": int(now) + 600}) for i in range(3))
    tokens.claims(first)
    tokens.claims(second)
    tokens.claims(first)  # now the most recently used
    tokens.claims(third)
    assert len(tokens) == 2
    assert first in tokens and third in tokens and second not in tokens
    assert tokens.claims(second)["sub"] == "1"  # evicted tokens are verified again


def test_cached_claims_cannot_be_changed():
    tokens = VerifiedTokens(SECRET)
    token = _tokens()["valid"]
    claims = tokens.claims(token)
    with pytest.raises(TypeError):
        claims["sub"] = "b"
    assert tokens.claims(token)["sub"] == "a"
