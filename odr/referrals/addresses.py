"""Whether an address a webhook may be sent to is public: the checks at entry and at delivery."""

from __future__ import annotations

import ipaddress
import socket


def literal_address(host: str) -> str | None:
    """The address a host written as an IP address stands for, or None for a name.

    The resolver reads IPv4 the way `inet_aton` does, so `127.1`, `0x7f000001`, `2130706433` and
    `0177.0.0.1` are all 127.0.0.1: a check that only knows dotted quads misses them.
    """
    host = host.strip("[]").split("%")[0]
    try:
        return str(ipaddress.IPv6Address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _COMPATIBLE or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _COMPATIBLE and int(ip) <= 1:
            return False  # :: and ::1
        inner = _embedded_ipv4(ip)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast
