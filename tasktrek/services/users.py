"""Accounts and tokens: registration, login (with a failed-login limit), logout, lookup,
and the operator's administration (create, set a password, disable)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from typing import Mapping, Protocol

import bcrypt
import jwt

from ..domain import is_id, new_id, utcnow
from ..errors import EmailTaken, Forbidden, NotFound, TooManyRequests, Unauthorized
from ..events import EventPublisher, UserLoggedOut
from ..records import User
from ..settings import Settings
from ..store import Store
from .tokens import JWT_ALGORITHM, VerifiedTokens

INVALID_CREDENTIALS = "invalid credentials"
INVALID_TOKEN = "invalid token"
ACCOUNT_DISABLED = "account disabled"
MAX_PASSWORD_BYTES = 72  # bcrypt's limit
CURRENT_HASH_PREFIX = b"$2b$"  # what bcrypt makes; bcryptjs (the Node service) made $2a$


class FailedLoginLimit(Protocol):
    """Where failed logins are counted: this process (`LoginLimiter`) or, in cluster mode,
    Redis for every node (`tasktrek.cluster.limiter.RedisLoginLimiter`)."""

    async def check(self, key: tuple[str, str]) -> None:
        """Raise TooManyRequests when this key has used up its failures in the window."""

    async def failed(self, key: tuple[str, str]) -> None: ...

    async def succeeded(self, key: tuple[str, str]) -> None: ...


class LoginLimiter:
    """Counts failed logins per (email, client address) in a sliding window.

    Bounded: at most `max_keys` keys are tracked, the least recently failed dropped first,
    so a flood of distinct emails cannot grow memory without limit.
    """

    def __init__(self, max_failures: int, window_seconds: float, *, max_keys: int = 100_000, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    async def check(self, key: tuple[str, str]) -> None:
        """Raise TooManyRequests when this key has used up its failures in the window."""
        failures = self._recent(key)
        if len(failures) >= self.max_failures:
            raise TooManyRequests(retry_after=max(1, int(failures[0] + self.window - self.clock()) + 1))

    async def failed(self, key: tuple[str, str]) -> None:
        failures = self._recent(key)
        failures.append(self.clock())
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    async def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)


class UserService:
    def __init__(self, store: Store, events: EventPublisher, settings: Settings, *,
                 limiter: FailedLoginLimit | None = None):
        self.store = store
        self.events = events
        self.secret = settings.jwt_secret
        self.tokens = VerifiedTokens(settings.jwt_secret)
        self.token_ttl = settings.token_ttl_seconds
        self.rounds = settings.bcrypt_rounds
        self.registration_open = settings.registration == "open"
        self.limiter = limiter or LoginLimiter(settings.login_max_failures, settings.login_window_seconds)
        self._decoy_hash: bytes | None = None

    # -- passwords, off the event loop ------------------------------------------------

    async def _hash(self, password: str) -> bytes:
        return await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt(self.rounds))

    def _needs_rehash(self, hashed: bytes) -> bool:
        """True for a hash of another variant or cost than the configured one (e.g. an
        adopted bcryptjs $2a$10$ hash), replaced after the next successful login."""
        return not hashed.startswith(CURRENT_HASH_PREFIX) or hashed[4:6] != b"%02d" % self.rounds

    async def _verify(self, password: str, hashed: bytes) -> bool:
        candidate = password.encode()
        if len(candidate) > MAX_PASSWORD_BYTES:
            # No stored password is this long; spend the same time and say no.
            await asyncio.to_thread(bcrypt.checkpw, b"", hashed)
            return False
        return await asyncio.to_thread(bcrypt.checkpw, candidate, hashed)

    async def prepare(self) -> None:
        """Make the decoy hash at start-up, so that even the first unknown-email login
        costs exactly one bcrypt check, like a wrong password."""
        if self._decoy_hash is None:
            self._decoy_hash = await self._hash(new_id())

    async def _decoy(self) -> bytes:
        await self.prepare()
        return self._decoy_hash

    # -- tokens -----------------------------------------------------------------------

    def issue_token(self, user_id: str) -> str:
        # iat with microseconds, so that logout revokes exactly the tokens issued before it.
        issued_at = round(time.time(), 6)
        claims = {"id": user_id, "sub": user_id, "iat": issued_at, "exp": int(issued_at) + self.token_ttl}
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM)

    async def user_for_claims(self, claims: Mapping) -> User | None:
        """The live user a verified token speaks for, or None when it is revoked, names no
        existing user, or lacks the claims we issue."""
        user_id = claims.get("sub", claims.get("id"))
        issued_at = claims.get("iat")
        if claims.get("id", user_id) != user_id:  # we issue both; they must agree
            return None
        if not is_id(user_id) or isinstance(issued_at, bool) or not isinstance(issued_at, (int, float)):
            return None
        if "exp" not in claims:
            return None
        user = await self.store.get_user(user_id)
        if user is None or user.disabled_at is not None:
            return None
        revoked_at = user.tokens_revoked_at
        if revoked_at is not None and issued_at <= revoked_at:
            return None
        return user

    async def authenticate(self, token: str) -> User:
        try:
            claims = self.tokens.claims(token)
        except jwt.InvalidTokenError:
            raise Unauthorized(INVALID_TOKEN) from None
        user = await self.user_for_claims(claims)
        if user is None:
            raise Unauthorized(INVALID_TOKEN)
        return user

    # -- use cases --------------------------------------------------------------------

    async def register(self, name: str, email: str, password: str) -> tuple[User, str]:
        """Self-service sign-up (POST /api/users), unless TASKTREK_REGISTRATION=closed."""
        if not self.registration_open:
            raise Forbidden("registration is closed")
        user = await self.create(name, email, password)
        return user, self.issue_token(user.id)

    async def create(self, name: str, email: str, password: str) -> User:
        """A new account, whether sign-ups are open or not (the operator's `tasktrek users create`)."""
        if await self.store.get_user_by_email(email) is not None:
            raise EmailTaken()
        user = User(
            id=new_id(),
            name=name,
            email=email,
            password_hash=(await self._hash(password)).decode(),
            created_at=utcnow(),
        )
        await self.store.insert_user(user)  # raises EmailTaken on a race
        return user

    async def login(self, email: str, password: str, client: str) -> tuple[User, str]:
        key = (email, client)
        await self.limiter.check(key)
        user = await self.store.get_user_by_email(email)
        hashed = user.password_hash.encode() if user else await self._decoy()
        if not await self._verify(password, hashed) or user is None:
            await self.limiter.failed(key)
            raise Unauthorized(INVALID_CREDENTIALS)
        await self.limiter.succeeded(key)
        if user.disabled_at is not None:  # said only to whoever knows the password
            raise Forbidden(ACCOUNT_DISABLED)
        if self._needs_rehash(hashed):
            await self.store.update_user(user.id, {"password_hash": (await self._hash(password)).decode()})
        return user, self.issue_token(user.id)

    async def logout(self, user: User) -> None:
        await self.store.set_tokens_revoked_at(user.id, round(time.time(), 6))
        await self.events.publish(UserLoggedOut(user.id))

    async def set_password(self, email: str, password: str) -> User:
        """The operator's password reset. Existing tokens stay valid (`disable` ends them)."""
        user = await self.lookup(email)
        await self.store.update_user(user.id, {"password_hash": (await self._hash(password)).decode()})
        return user

    async def disable(self, email: str) -> User:
        """Refuse the account's logins and revoke its tokens. A server in another process
        learns it through `announce_disabled` and closes the user's sockets."""
        user = await self.lookup(email)
        now = round(time.time(), 6)
        await self.store.update_user(user.id, {"disabled_at": now, "tokens_revoked_at": now})
        await self.events.publish(UserLoggedOut(user.id))
        return user

    async def announce_disabled(self, after: float) -> float:
        """Publish UserLoggedOut for every user disabled after `after` (epoch seconds) and
        return the newest such time, to pass next time: how a server learns of accounts
        disabled from the command line, which runs in another process."""
        for user_id, disabled_at in await self.store.users_disabled_after(after):
            await self.events.publish(UserLoggedOut(user_id))
            after = max(after, disabled_at)
        return after

    async def lookup(self, email: str) -> User:
        user = await self.store.get_user_by_email(email)
        if user is None:
            raise NotFound("user not found")
        return user

    async def get(self, user_id: str) -> User | None:
        return await self.store.get_user(user_id) if is_id(user_id) else None
