"""The served TaskTrek app of a real-time test: its URL, its gateway, and the HTTP calls
tests trigger events with."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp

from tests.conftest import User

TIMEOUT = 10.0  # seconds any single expected thing may take before a test fails

_names = itertools.count()


# --- the app over HTTP ------------------------------------------------------------------


class Harness:
    """A served TaskTrek app: its URL, its gateway, and the HTTP calls tests trigger events with."""

    def __init__(self, server, app, gateway, session: aiohttp.ClientSession, prefix: str = ""):
        self.server = server
        self.app = app
        self.gateway = gateway
        self.session = session
        self.prefix = prefix  # where the TaskTrek app is mounted ("" at the root)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def socketio_path(self) -> str:
        return f"{self.prefix}/socket.io"

    def ws_url(self, query: str = "EIO=4&transport=websocket") -> str:
        return f"{self.url}{self.socketio_path}/?{query}"

    def polling_url(self, query: str = "EIO=4&transport=polling") -> str:
        return f"{self.url}{self.socketio_path}/?{query}"

    def engine(self, sid: str):
        """The server's EngineSocket of Engine.IO session `sid` (None once it is gone)."""
        client = self.gateway.sessions.clients.get(sid)
        return client.engine if client is not None else None

    async def request(self, method: str, path: str, user: User | None = None, *, expect: int | None = None, **kw):
        headers = {**(user.auth if user else {}), **kw.pop("headers", {})}
        async with self.session.request(method, self.url + self.prefix + path, headers=headers, **kw) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            if expect is not None:
                assert resp.status == expect, (resp.status, body)
            return resp.status, body

    async def register(self, name: str | None = None) -> User:
        n = next(_names)
        name = name or f"user{n}"
        email = f"{name.lower()}.{n}@example.com"
        _, body = await self.request(
            "POST", "/api/users", json={"name": name, "email": email, "password": "correct horse"}, expect=201
        )
        return User(body["_id"], name, email, body["token"])

    async def create_task(self, user: User, **fields) -> dict:
        _, body = await self.request("POST", "/api/tasks", user, json={"title": "a task", **fields}, expect=201)
        return body

    async def make_contacts(self, owner: User, assignee: User, **fields) -> dict:
        """A task of `owner`'s that `assignee` has started: the two are presence contacts
        (and the introduction that change makes is over)."""
        task = await self.create_task(owner, assignedTo=assignee.id, **fields)
        started = await self.set_status(assignee, task["_id"], "in-progress")
        await self.settled()
        return started

    async def update_task(self, user: User, task_id: str, **fields) -> dict:
        _, body = await self.request("PUT", f"/api/tasks/{task_id}", user, json=fields, expect=200)
        return body

    async def set_status(self, user: User, task_id: str, status: str) -> dict:
        _, body = await self.request("PATCH", f"/api/tasks/{task_id}/status", user, json={"status": status}, expect=200)
        return body

    async def assign(self, user: User, task_id: str, assignee: User | None) -> dict:
        _, body = await self.request(
            "PATCH", f"/api/tasks/{task_id}/assign", user, json={"assignedTo": assignee.id if assignee else None}, expect=200
        )
        return body

    async def delete_task(self, user: User, task_id: str) -> dict:
        _, body = await self.request("DELETE", f"/api/tasks/{task_id}", user, expect=200)
        return body

    async def restore_task(self, user: User, task_id: str) -> dict:
        _, body = await self.request("PATCH", f"/api/tasks/{task_id}/restore", user, expect=200)
        return body

    async def get_task(self, user: User, task_id: str) -> dict:
        _, body = await self.request("GET", f"/api/tasks/{task_id}", user, expect=200)
        return body

    async def notifications(self, user: User) -> dict:
        _, body = await self.request("GET", "/api/notifications", user, expect=200)
        return body

    async def mark_read(self, user: User, notification_id: str, read: bool = True) -> dict:
        action = "read" if read else "unread"
        _, body = await self.request("PATCH", f"/api/notifications/{notification_id}/{action}", user, expect=200)
        return body

    async def logout(self, user: User) -> None:
        await self.request("POST", "/api/users/logout", user, expect=204)

    async def settled(self) -> None:
        """Wait until the gateway has no announcement in flight."""
        await asyncio.wait_for(self.gateway.settled(), TIMEOUT)


class Pause:
    """Holds the first call of a real service method, once it has its answer, until
    `release()`: what a test does meanwhile happens while the gateway waits for that answer.
    The method runs unchanged, and every later call passes straight through."""

    def __init__(self, service, name: str):
        self.answered = asyncio.Event()
        self._released = asyncio.Event()
        real = getattr(service, name)

        async def paused(*args, **kw):
            answer = await real(*args, **kw)
            if not self.answered.is_set():
                self.answered.set()
                await self._released.wait()
            return answer

        setattr(service, name, paused)

    async def wait(self) -> None:
        await asyncio.wait_for(self.answered.wait(), TIMEOUT)

    def release(self) -> None:
        self._released.set()


