"""The client's address, believing X-Forwarded-For only from TASKTREK_TRUSTED_PROXIES."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Iterable

from aiohttp import web

Networks = tuple[IPv4Network | IPv6Network, ...]
MAX_ADDRESS_CHARS = 64  # an untrusted entry is a key, not something to keep whole


def client_address(request: web.BaseRequest, trusted: Networks | None = None) -> str:
    """The address of the client that sent `request`: the peer's, or, when the peer is a
    trusted proxy, the nearest X-Forwarded-For entry not added by a trusted proxy.
    `trusted` defaults to the TaskTrek app's TASKTREK_TRUSTED_PROXIES."""
    if trusted is None:
        from .keys import SETTINGS  # here: keys imports the real-time gateway, which uses this module

        trusted = request.app[SETTINGS].trusted_proxies
    return forwarded_client(request.remote, request.headers.getall("X-Forwarded-For", ()), trusted)


def forwarded_client(peer: str | None, forwarded_for: Iterable[str], trusted: Networks) -> str:
    """Walk from the peer back through X-Forwarded-For (each proxy appends the address it
    received from) while the hop is a trusted proxy; the first other hop is the client.
    Entries left of an untrusted hop could be forged by the client and are ignored."""
    if not peer:
        return "unknown"
    hops = [entry.strip() for header in forwarded_for for entry in header.split(",") if entry.strip()]
    current = peer
    while hops and _is_trusted(current, trusted):
        current = hops.pop()
    return current[:MAX_ADDRESS_CHARS]


def _is_trusted(address: str, trusted: Networks) -> bool:
    if not trusted:
        return False
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted)
