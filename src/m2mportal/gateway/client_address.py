"""The caller's address for the IP whitelist.

The socket peer, unless that peer is a trusted proxy: then the right-most
``X-Forwarded-For`` entry that is not itself a trusted proxy. Nothing is trusted by
default, loopback included, so a client cannot forge its address with a header.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection


@lru_cache(maxsize=64)
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def in_networks(address: str, networks: tuple[str, ...]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (addresses or CIDRs)."""
    return _is_trusted(_plain(address), networks)


def _is_trusted(address: str, trusted: tuple[str, ...]) -> bool:
    if not trusted:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(trusted))


def _plain(address: str) -> str:
    """An IPv4 client seen through a dual-stack socket (``::ffff:203.0.113.7``) as IPv4."""
    if address.startswith("::ffff:"):
        try:
            mapped = ipaddress.IPv6Address(address).ipv4_mapped
        except ValueError:
            return address
        if mapped is not None:
            return str(mapped)
    return address


def client_ip(conn: HTTPConnection, trusted: tuple[str, ...]) -> str:
    peer = _plain(conn.client.host if conn.client else "")
    if not _is_trusted(peer, trusted):
        return peer
    # Every header line: a proxy may add its own line after the client's.
    forwarded = ",".join(conn.headers.getlist("x-forwarded-for"))
    hops = [_plain(hop.strip()) for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
