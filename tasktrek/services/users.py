"""Accounts and tokens: registration, login (with a failed-login limit), logout, lookup,
and the operator's administration (create, set a password, disable)."""

from __future__ import annotations

import time
from typing import Mapping

import bcrypt
import jwt

from ..domain import is_id, new_id, utcnow
from ..errors import EmailTaken, Forbidden, NotFound, TooManyRequests, Unauthorized
from ..events import EventPublisher, UserLoggedOut
from ..records import User
from ..settings import Settings
from ..store import Store
from .limits import LimiterFactory, memory_limiters
from .passwords import PasswordWork, default_workers
from .reads import UserRecords
from .tokens import JWT_ALGORITHM, VerifiedTokens

INVALID_CREDENTIALS = "invalid credentials"
INVALID_TOKEN = "invalid token"
ACCOUNT_DISABLED = "account disabled"
TOO_MANY_SIGNUPS = "too many sign-ups from this address, try again later"
MAX_PASSWORD_BYTES = 72  # bcrypt's limit
LOCAL = "local"  # the client of work that no request asked for (start-up, the command line)
CURRENT_HASH_PREFIX = b"$2b$"  # what bcrypt makes; bcryptjs (the Node service) made $2a$


class UserService:
    def __init__(self, store: Store, events: EventPublisher, settings: Settings, *,
                 limiters: LimiterFactory = memory_limiters):
        self.store = store
        self.events = events
        self.secret = settings.jwt_secret
        self.tokens = VerifiedTokens(settings.jwt_secret)
        # Token users' records, kept while no user record changed since (reads.py).
        self.records = UserRecords(store) if UserRecords.supported(store) else None
        self.token_ttl = settings.token_ttl_seconds
        self.rounds = settings.bcrypt_rounds
        self.registration_open = settings.registration == "open"
        window = settings.login_window_seconds
        # Failed logins per (email, address), and per address whatever the email.
        self.login_limit = limiters("login", settings.login_max_failures, window)
        self.address_limit = limiters("login-address", settings.login_max_failures_per_address, window)
        # Sign-ups per address (each costs a bcrypt hash and an account).
        self.registration_limit = limiters(
            "registration", settings.registrations_per_address, settings.registration_window_seconds
        )
        self.passwords = PasswordWork(
            settings.bcrypt_workers or default_workers(),
            max_waiting=settings.bcrypt_max_waiting,
            per_client=settings.bcrypt_per_client,
        )
        self._decoy_hash: bytes | None = None

    # -- passwords, off the event loop, through the bcrypt work queue ------------------

    async def _hash(self, password: str, client: str = LOCAL) -> bytes:
        return await self.passwords.run(client, bcrypt.hashpw, password.encode(), bcrypt.gensalt(self.rounds))

    def _needs_rehash(self, hashed: bytes) -> bool:
        """True for a hash of another variant or cost than the configured one (e.g. an
        adopted bcryptjs $2a$10$ hash), replaced after the next successful login."""
        return not hashed.startswith(CURRENT_HASH_PREFIX) or hashed[4:6] != b"%02d" % self.rounds

    async def _verify(self, password: str, hashed: bytes, client: str) -> bool:
        candidate = password.encode()
        if len(candidate) > MAX_PASSWORD_BYTES:
            # No stored password is this long; spend the same time and say no.
            await self.passwords.run(client, bcrypt.checkpw, b"", hashed)
            return False
        return await self.passwords.run(client, bcrypt.checkpw, candidate, hashed)

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
        user = await (self.records.get(user_id) if self.records is not None else self.store.get_user(user_id))
        if user is None or user.disabled_at is not None:
            return None
        revoked_at = user.tokens_revoked_at
        if revoked_at is not None and issued_at <= revoked_at:
            return None
        return user

    async def authenticate(self, token: str) -> User:
        return (await self.authenticate_until(token))[0]

    async def authenticate_until(self, token: str) -> tuple[User, float]:
        """The user a token speaks for, and when the token expires (epoch seconds)."""
        try:
            claims = self.tokens.claims(token)
        except jwt.InvalidTokenError:
            raise Unauthorized(INVALID_TOKEN) from None
        user = await self.user_for_claims(claims)
        if user is None:
            raise Unauthorized(INVALID_TOKEN)
        return user, float(claims["exp"])

    # -- use cases --------------------------------------------------------------------

    async def register(self, name: str, email: str, password: str, client: str = LOCAL) -> tuple[User, str]:
        """Self-service sign-up (POST /api/users), unless TASKTREK_REGISTRATION=closed; a
        limited number per client address in a window, taken or not."""
        if not self.registration_open:
            raise Forbidden("registration is closed")
        try:
            await self.registration_limit.check((client,))
        except TooManyRequests as exc:
            raise TooManyRequests(exc.retry_after, message=TOO_MANY_SIGNUPS) from None
        await self.registration_limit.failed((client,))  # every attempt counts
        user = await self.create(name, email, password, client)
        return user, self.issue_token(user.id)

    async def create(self, name: str, email: str, password: str, client: str = LOCAL) -> User:
        """A new account, whether sign-ups are open or not (the operator's `tasktrek users create`)."""
        if await self.store.get_user_by_email(email) is not None:
            raise EmailTaken()
        user = User(
            id=new_id(),
            name=name,
            email=email,
            password_hash=(await self._hash(password, client)).decode(),
            created_at=utcnow(),
        )
        await self.store.insert_user(user)  # raises EmailTaken on a race
        return user

    async def login(self, email: str, password: str, client: str) -> tuple[User, str]:
        key = (email, client)
        await self.login_limit.check(key)
        await self.address_limit.check((client,))
        user = await self.store.get_user_by_email(email)
        hashed = user.password_hash.encode() if user else await self._decoy()
        if not await self._verify(password, hashed, client) or user is None:
            await self.login_limit.failed(key)
            await self.address_limit.failed((client,))
            self.passwords.failed(client)
            raise Unauthorized(INVALID_CREDENTIALS)
        await self.login_limit.succeeded(key)
        self.passwords.succeeded(client)
        if user.disabled_at is not None:  # said only to whoever knows the password
            raise Forbidden(ACCOUNT_DISABLED)
        if self._needs_rehash(hashed):
            await self.store.update_user(user.id, {"password_hash": (await self._hash(password, client)).decode()})
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
