"""Interval sets over integers: ports (per protocol) and IP addresses (v4 and v6).

A set is a tuple of disjoint, sorted, non-adjacent closed intervals `(lo, hi)`. Ports of the three protocols
share one integer line (protocol offset + port number) and IPv4/IPv6 share another (IPv6 is shifted above the
IPv4 space), so union, intersection and difference are one algorithm each. This module knows nothing about
policies.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

Interval = tuple[int, int]
IntervalSet = tuple[Interval, ...]

EMPTY: IntervalSet = ()

PROTOCOLS: tuple[str, ...] = ("TCP", "UDP", "SCTP")
_PROTO_OFFSET = {p: i << 16 for i, p in enumerate(PROTOCOLS)}
MAX_PORT = 65535


def normalize(intervals: Iterable[Interval]) -> IntervalSet:
    """Sort and merge overlapping or adjacent intervals."""
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def union(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    if not a:
        return b
    if not b:
        return a
    return normalize((*a, *b))


def intersect(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    out: list[Interval] = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            if cur > hi:
                break
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def contains(a: IntervalSet, x: int) -> bool:
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid][1] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(a) and a[lo][0] <= x


# --- ports -------------------------------------------------------------------------------------------------


def port_range(protocol: str, lo: int, hi: int) -> IntervalSet:
    off = _PROTO_OFFSET[protocol]
    return ((off + lo, off + hi),)


def all_ports(protocol: str) -> IntervalSet:
    return port_range(protocol, 1, MAX_PORT)


ALL_PORTS: IntervalSet = normalize(iv for p in PROTOCOLS for iv in all_ports(p))


def port_point(protocol: str, port: int) -> int:
    return _PROTO_OFFSET[protocol] + port


def ports_by_protocol(s: IntervalSet) -> dict[str, list[tuple[int, int]]]:
    """Split an encoded port set into `{protocol: [(lo, hi), ...]}` with plain port numbers."""
    out: dict[str, list[tuple[int, int]]] = {}
    for proto in PROTOCOLS:
        off = _PROTO_OFFSET[proto]
        part = intersect(s, ((off + 1, off + MAX_PORT),))
        if part:
            out[proto] = [(lo - off, hi - off) for lo, hi in part]
    return out


@functools.lru_cache(maxsize=65536)
def describe_ports(s: IntervalSet) -> dict[str, str | list[str]]:
    """`{"TCP": "all", "UDP": ["53"], ...}`: the JSON form used by matrices and findings. Cached: the same
    object comes back for the same set, so callers must not modify it."""
    out: dict[str, str | list[str]] = {}
    for proto, ranges in ports_by_protocol(s).items():
        if ranges == [(1, MAX_PORT)]:
            out[proto] = "all"
        else:
            out[proto] = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]
    return out


@functools.lru_cache(maxsize=65536)
def ports_text(s: IntervalSet) -> str:
    """A short human form: `TCP 80,443 UDP 53`, `all`, or `none`."""
    if s == ALL_PORTS:
        return "all"
    if not s:
        return "none"
    parts = []
    for proto, spec in describe_ports(s).items():
        parts.append(f"{proto} {spec if isinstance(spec, str) else ','.join(spec)}")
    return " ".join(parts)


# --- addresses ----------------------------------------------------------------------------------------------

_V6_OFFSET = 1 << 32


def _addr_int(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return int(ip) if ip.version == 4 else _V6_OFFSET + int(ip)


def network_interval(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> IntervalSet:
    return ((_addr_int(net.network_address), _addr_int(net.broadcast_address)),)


def address_point(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return _addr_int(ip)
