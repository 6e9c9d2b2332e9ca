"""Port lists people write in configuration: `22`, `53/UDP`, `2379-2380/TCP`."""

from __future__ import annotations

from collections.abc import Iterable

from scanner.intervals import EMPTY, IntervalSet, port_range, union


def parse_port_list(items: Iterable[str]) -> IntervalSet:
    out: IntervalSet = EMPTY
    for item in items:
        text = str(item).strip()
        number, _, proto = text.partition("/")
        proto = (proto or "TCP").upper()
        if proto not in ("TCP", "UDP", "SCTP"):
            raise ValueError(f"{text!r}: unknown protocol {proto!r}")
        lo_s, _, hi_s = number.partition("-")
        try:
            lo, hi = int(lo_s), int(hi_s or lo_s)
        except ValueError:
            raise ValueError(f"{text!r} is not a port, a range or PORT/PROTOCOL") from None
        if not 1 <= lo <= hi <= 65535:
            raise ValueError(f"{text!r} is outside 1-65535")
        out = union(out, port_range(proto, lo, hi))
    return out
