"""Verifying bearer tokens, with a bounded cache of the ones already verified.

A client sends the same token with every request; verifying it again (HMAC, base64, JSON,
claim checks) is a large share of a cheap read. The cache keeps only what PyJWT itself
established — the signature and the claims — and still checks the expiry on every use,
as PyJWT would. Whether the token is revoked (logout) or its user disabled is not a property
of the token: `UserService.user_for_claims` checks it against the user record every time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from types import MappingProxyType
from typing import Callable, Mapping

import jwt

JWT_ALGORITHM = "HS256"
MAX_CACHED_TOKENS = 4096  # about 2 MB at most; the least recently used token goes first


class VerifiedTokens:
    def __init__(self, secret: str, *, max_tokens: int = MAX_CACHED_TOKENS, clock: Callable[[], float] = time.time):
        self.secret = secret
        self.max_tokens = max_tokens
        self.clock = clock
        self._verified: OrderedDict[str, Mapping] = OrderedDict()

    def __contains__(self, token: str) -> bool:
        return token in self._verified

    def __len__(self) -> int:
        return len(self._verified)

    def verify(self, token: str) -> dict:
        """The token's claims as PyJWT verifies them, uncached: raises jwt.InvalidTokenError."""
        return jwt.decode(token, self.secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat"]})

    def claims(self, token: str) -> Mapping:
        """The token's verified claims (read-only); raises jwt.InvalidTokenError exactly when
        `verify` would at this moment."""
        claims = self._verified.get(token)
        if claims is None:
            claims = MappingProxyType(self.verify(token))
            self._verified[token] = claims
            if len(self._verified) > self.max_tokens:
                self._verified.popitem(last=False)
        elif int(claims["exp"]) <= self.clock():  # PyJWT's own test (leeway 0)
            del self._verified[token]
            raise jwt.ExpiredSignatureError("Signature has expired")
        else:
            self._verified.move_to_end(token)
        return claims
