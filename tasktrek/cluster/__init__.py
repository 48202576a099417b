"""Cluster mode (docs/scaling.md): several TaskTrek nodes behind a load balancer, sharing one
database and one Redis, behave as one.

Nothing in this package is imported unless `TASKTREK_REDIS_URL` is set; the modules that
talk to Redis import redis-py (`redis.asyncio`) themselves.

- `connection.py`  the Redis client of one node: open, wait while Redis is down, probe, close
- `bus.py`         a Redis stream every node publishes to and reads from (delivery across nodes)
- `presence.py`    presence counted across nodes, node heartbeats and the dead-node sweeper
- `limiter.py`     the failed-login limit shared by every node
"""
