"""A one-line progress indicator on stderr, shown only on a terminal, outside CI and without --quiet."""

from __future__ import annotations

import os
import sys
import time

from scanner.textsafe import visible


class Progress:
    def __init__(self, enabled: bool | None = None, min_interval: float = 0.1) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self.enabled = enabled
        self._last = 0.0
        self._shown = False
        self._min_interval = min_interval

    def update(self, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self._min_interval:
            return
        self._last = now
        out = getattr(sys.stderr, "inner", sys.stderr)  # past the CLI's VisibleStream: this escape is ours
        out.write("\r\x1b[K" + visible(message[:150]))
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            out = getattr(sys.stderr, "inner", sys.stderr)
            out.write("\r\x1b[K")
            out.flush()
            self._shown = False


QUIET = Progress(enabled=False)
