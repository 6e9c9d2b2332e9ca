"""Text from the cluster made safe to show: control and bidirectional-formatting characters become visible.

Names and labels are validated on the way in, but file names, annotations, configuration text and error
messages are not. A terminal escape sequence in a warning can rewrite the screen; a right-to-left override in a
report can make `evil.yaml` read as `lmay.live` (the "Trojan Source" trick). `visible()` replaces each such
character with its `\\uXXXX` spelling, so what a reader sees is what the input holds.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 controls except tab, newline and carriage return (line ends: `one_line` spells those), C1 controls, the bidi embeddings, overrides and isolates, the
# implicit marks, and the line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _spell(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def visible(text: str) -> str:
    """`text` with every unsafe character spelled out as `\\uXXXX`; other text unchanged."""
    return _UNSAFE.sub(_spell, text) if _UNSAFE.search(text) else text


def one_line(text: str) -> str:
    """`visible(text)` with line breaks spelled out too: a message that quotes input stays one line (and a
    carriage return cannot send the cursor back over what was printed)."""
    return visible(text.replace("\n", "\\n").replace("\r", "\\r"))


class VisibleStream:
    """A text stream wrapper that writes `visible(text)`: the CLI's stderr, where names reach a terminal."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        return self.inner.write(visible(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
