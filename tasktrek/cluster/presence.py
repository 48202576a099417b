"""Presence counted across every node of a cluster, in Redis.

Same interface as the in-process presence (`tasktrek.realtime.presence`): `connect` and
`disconnect` count one socket, `take_change` tells whether a user's state differs from the
one last announced (cluster-wide, so that each change is announced once by one node), and
`on_offline(user_id)` is called when a user's state may have changed without a socket event
here (a grace period ran out, a dead node was counted out, this node's counts were written
back after Redis was away): its owner then announces whatever `take_change` says.

Keys under the prefix:
- `presence:node:<id>`  hash user → sockets on that node
- `presence:total`      hash user → sockets on all nodes
- `presence:grace`      sorted set user → when their grace period ends (ms, Redis time)
- `presence:announced`  set of users last announced online
- `presence:nodes`      sorted set node → its last heartbeat (ms, Redis time)

Every change is one Lua script, so that concurrent nodes never see half of one. Times come
from Redis's clock, so the nodes' clocks need not agree. Each node also keeps its own counts
in memory: when Redis was unreachable, or this node was counted out by the others (it was
silent longer than the TTL), the next heartbeat writes them back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Iterable

from .connection import UNAVAILABLE, reason

log = logging.getLogger(__name__)

NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# A user is online while they have a socket somewhere or their grace period has not ended
# (one that ended but is not claimed yet no longer counts).
ONLINE = """
local function online(user)
  if tonumber(redis.call('HGET', KEYS[1], user) or '0') > 0 then return true end
  local ends = redis.call('ZSCORE', KEYS[2], user)
  return ends ~= false and tonumber(ends) > now
end
"""

# KEYS: node hash, total, grace. ARGV: user. → 1 if the user just came online.
CONNECT = NOW + """
local ends = redis.call('ZSCORE', KEYS[3], ARGV[1])
local in_grace = ends ~= false and tonumber(ends) > now
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local total = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if total == 1 and not in_grace then return 1 end
return 0
"""

# KEYS: total, grace. ARGV: users. → those online.
ONLINE_AMONG = NOW + ONLINE + """
local found = {}
for _, user in ipairs(ARGV) do
  if online(user) then table.insert(found, user) end
end
return found
"""

# KEYS: node hash, total, grace. ARGV: user, grace ms.
# → 1 offline now, 2 grace period started, 0 still online, -1 not counted here.
DISCONNECT = NOW + """
local here = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if here <= 0 then return -1 end
if here == 1 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
local total = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if total > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if tonumber(ARGV[2]) == 0 then return 1 end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
return 2
"""

# KEYS: grace. ARGV: user. → -1 claimed (the grace period is over: announce),
# 0 nothing to claim, n > 0 ms still to wait.
CLAIM_GRACE = NOW + """
local ends = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not ends then return 0 end
ends = tonumber(ends)
if ends > now then return ends - now end
redis.call('ZREM', KEYS[1], ARGV[1])
return -1
"""

# KEYS: grace. → users whose grace period is over (claimed by this call).
CLAIM_EXPIRED_GRACE = NOW + """
local over = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #over > 0 then redis.call('ZREM', KEYS[1], unpack(over)) end
return over
"""

# KEYS: total, grace, announced. ARGV: user. → 1 if the state differs from the one last
# announced (and is now marked announced), else 0.
TAKE_CHANGE = NOW + ONLINE + """
local online = online(ARGV[1])
local announced = redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1
if online == announced then return 0 end
if online then redis.call('SADD', KEYS[3], ARGV[1]) else redis.call('SREM', KEYS[3], ARGV[1]) end
return 1
"""

# Replace one node's counts with `counts` (ARGV 4…: user, count pairs) and adjust the totals.
# KEYS: nodes, node hash, total, grace. ARGV: node id, grace ms (-1: a grace period that is
# over at once, for the other nodes to claim), 1 to rewrite the counts.
# Records the heartbeat. → {users whose total went from or to zero (grace 0),
# users whose grace period started}.
HEARTBEAT = NOW + """
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
if added == 0 and ARGV[3] ~= '1' then return {{}, {}} end
local old = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do old[flat[i]] = tonumber(flat[i + 1]) end
local new = {}
for i = 4, #ARGV, 2 do new[ARGV[i]] = tonumber(ARGV[i + 1]) end
redis.call('DEL', KEYS[2])
local changed, graced = {}, {}
local function adjust(user, delta)
  if delta == 0 then return end
  local total = redis.call('HINCRBY', KEYS[3], user, delta)
  if total > 0 and total == delta then
    redis.call('ZREM', KEYS[4], user)
    table.insert(changed, user)
  elseif total <= 0 then
    redis.call('HDEL', KEYS[3], user)
    if tonumber(ARGV[2]) ~= 0 then
      redis.call('ZADD', KEYS[4], now + math.max(0, tonumber(ARGV[2])), user)
      table.insert(graced, user)
    else table.insert(changed, user) end
  end
end
for user, count in pairs(new) do
  redis.call('HSET', KEYS[2], user, count)
  adjust(user, count - (old[user] or 0))
end
for user, count in pairs(old) do
  if new[user] == nil then adjust(user, -count) end
end
return {changed, graced}
"""

# Count out every node silent for longer than ARGV[1] ms. KEYS: nodes, total, grace.
# ARGV: silence ms, grace ms, node hash key prefix. → {users who went offline at once
# (grace 0), users whose grace period started}.
SWEEP = NOW + """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local offline, graced = {}, {}
for _, node in ipairs(dead) do
  local key = ARGV[3] .. node
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local user = flat[i]
    local total = redis.call('HINCRBY', KEYS[2], user, -tonumber(flat[i + 1]))
    if total <= 0 then
      redis.call('HDEL', KEYS[2], user)
      if tonumber(ARGV[2]) > 0 then
        redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), user)
        table.insert(graced, user)
      else table.insert(offline, user) end
    end
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], node)
end
return {offline, graced}
"""


class RedisPresence:
    """Presence shared by every node through Redis. `start()` begins the heartbeat (every
    third of the TTL) that also sweeps dead nodes and expired grace periods; `leave()`
    takes this node's sockets out at once (a clean shutdown does not wait for the TTL)."""

    def __init__(
        self,
        redis,
        prefix: str,
        node_id: str,
        grace_seconds: float,
        on_offline: Callable[[str], None],
        *,
        ttl_seconds: float,
        clock=None,
    ) -> None:
        if grace_seconds < 0:
            raise ValueError("grace period must be >= 0")
        self.redis = redis
        self.node_id = node_id
        self.grace_seconds = grace_seconds
        self.ttl_seconds = ttl_seconds
        self._on_offline = on_offline
        self._clock = clock
        self._nodes = f"{prefix}presence:nodes"
        self._node_prefix = f"{prefix}presence:node:"
        self._node = self._node_prefix + node_id
        self._total = f"{prefix}presence:total"
        self._grace = f"{prefix}presence:grace"
        self._announced = f"{prefix}presence:announced"
        self._scripts = {
            name: redis.register_script(source)
            for name, source in (
                ("connect", CONNECT), ("disconnect", DISCONNECT), ("claim", CLAIM_GRACE),
                ("claim_expired", CLAIM_EXPIRED_GRACE), ("take_change", TAKE_CHANGE), ("online_among", ONLINE_AMONG),
                ("heartbeat", HEARTBEAT), ("sweep", SWEEP),
            )
        }
        self._local: dict[str, int] = {}  # this node's sockets per user: the truth Redis is rewritten from
        self._timers: dict[str, Any] = {}
        self._dirty = False  # Redis missed a change of the counts above
        self._beating: asyncio.Task | None = None

    @property
    def _grace_ms(self) -> int:
        return int(self.grace_seconds * 1000)

    async def _run(self, name: str, keys: list[str], args: list) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    # --- counting ------------------------------------------------------------------------

    async def connect(self, user_id: str) -> bool:
        self._local[user_id] = self._local.get(user_id, 0) + 1
        self._cancel_timer(user_id)
        if self._dirty:
            return False  # the next heartbeat writes the counts back and reports the change
        try:
            return await self._run("connect", [self._node, self._total, self._grace], [user_id]) == 1
        except UNAVAILABLE as exc:
            self._missed(exc)
            return False

    async def disconnect(self, user_id: str) -> bool:
        count = self._local.get(user_id, 0)
        if count == 0:
            return False
        if count == 1:
            del self._local[user_id]
        else:
            self._local[user_id] = count - 1
        if self._dirty:
            return False
        try:
            outcome = await self._run("disconnect", [self._node, self._total, self._grace], [user_id, self._grace_ms])
        except UNAVAILABLE as exc:
            self._missed(exc)
            return False
        if outcome == 2:
            self._start_timer(user_id, self.grace_seconds)
        return outcome == 1

    def _missed(self, exc: BaseException) -> None:
        if not self._dirty:
            log.warning("Redis unreachable (%s): presence counts kept here until it is back", reason(exc))
        self._dirty = True

    # --- grace periods -------------------------------------------------------------------

    def _start_timer(self, user_id: str, delay: float) -> None:
        self._cancel_timer(user_id)
        clock = self._clock or asyncio.get_running_loop()
        self._timers[user_id] = clock.call_later(delay, self._timer_fired, user_id)

    def _cancel_timer(self, user_id: str) -> None:
        timer = self._timers.pop(user_id, None)
        if timer is not None:
            timer.cancel()

    def _timer_fired(self, user_id: str) -> None:
        self._timers.pop(user_id, None)
        asyncio.get_running_loop().create_task(self._claim(user_id))

    async def _claim(self, user_id: str) -> None:
        try:
            outcome = await self._run("claim", [self._grace], [user_id])
        except UNAVAILABLE:
            return  # the heartbeat's sweep claims it once Redis is back
        if outcome == -1:
            self._on_offline(user_id)
        elif outcome > 0:  # Redis's clock is behind ours: wait for it
            self._start_timer(user_id, outcome / 1000)

    # --- queries -------------------------------------------------------------------------

    async def is_online(self, user_id: str) -> bool:
        return bool(await self.online_among([user_id]))

    async def online_among(self, user_ids: Iterable[str]) -> list[str]:
        users = sorted(set(user_ids))
        if not users:
            return []
        try:
            return sorted(await self._run("online_among", [self._total, self._grace], users))
        except UNAVAILABLE:
            return [u for u in users if u in self._local]  # what this node knows

    async def take_change(self, user_id: str) -> bool:
        try:
            return await self._run("take_change", [self._total, self._grace, self._announced], [user_id]) == 1
        except UNAVAILABLE:
            return False

    # --- heartbeat and sweeping ----------------------------------------------------------

    async def beat(self) -> None:
        """Record this node's heartbeat (writing its counts back if Redis lost or missed
        them), count out dead nodes, and claim grace periods nobody else claimed."""
        dirty = self._dirty
        args: list = [self.node_id, self._grace_ms, "1" if dirty else "0"]
        for user, count in self._local.items():
            args += [user, count]
        changed, graced = await self._run("heartbeat", [self._nodes, self._node, self._total, self._grace], args)
        self._dirty = False
        if dirty:
            log.info("Redis reachable again: presence counts of this node written back")
        offline, graced_too = await self._run(
            "sweep", [self._nodes, self._total, self._grace],
            [int(self.silence_limit * 1000), self._grace_ms, self._node_prefix],
        )
        expired = await self._run("claim_expired", [self._grace], [])
        for user_id in (*graced, *graced_too):
            self._start_timer(user_id, self.grace_seconds)
        for user_id in dict.fromkeys([*changed, *offline, *expired]):
            self._on_offline(user_id)

    @property
    def beat_interval(self) -> float:
        return self.ttl_seconds / 3

    @property
    def silence_limit(self) -> float:
        """A node silent this long is dead: with a beat every third of the TTL, a node that
        died is counted out at most one TTL after its death."""
        return self.ttl_seconds * 2 / 3

    async def _beat_loop(self) -> None:
        while True:
            try:
                await self.beat()
            except UNAVAILABLE as exc:
                self._missed(exc)
            await asyncio.sleep(self.beat_interval)

    def start(self) -> None:
        self._beating = asyncio.get_running_loop().create_task(self._beat_loop())

    async def leave(self) -> None:
        """Take this node's sockets out of the counts at once, so that a clean shutdown does
        not leave its users online until the TTL runs out; the other nodes announce them."""
        beating = self._beating
        self._stop_beating()
        if beating is not None:
            await asyncio.wait([beating])  # no heartbeat may land after the node left
        self._local.clear()
        # Even without a grace period the users it leaves offline enter one (over at once): a
        # node on its way out cannot announce anything; the others claim them at their next beat.
        grace_ms = self._grace_ms or -1
        try:
            await self._run("heartbeat", [self._nodes, self._node, self._total, self._grace], [self.node_id, grace_ms, "1"])
            await self.redis.zrem(self._nodes, self.node_id)
        except UNAVAILABLE:
            pass  # the others count this node out after the TTL

    def _stop_beating(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            self._beating = None

    def close(self) -> None:
        """Stop beating, cancel every timer, forget this node's counts (not Redis's)."""
        self._stop_beating()
        for user_id in list(self._timers):
            self._cancel_timer(user_id)
        self._local.clear()

    def stats(self) -> dict[str, int]:
        return {"users": len(self._local), "sockets": sum(self._local.values()), "grace_timers": len(self._timers)}

    def is_empty(self) -> bool:
        return not self._local and not self._timers
