"""User text made safe to show: a name, key, path or message printed to a terminal or written into
a comment of a generated file.

A preset can come from anyone, and its names and keys may hold escape sequences that clear the
screen, retitle the terminal or hide what follows, right-to-left overrides that make text read
differently from what it is, or a newline that turns a comment into a command. Every place that
shows such text passes it through `printable`, which keeps it on one line and shows each of those
characters as its escape (ESC as `\\x1b`), so the person sees what is there and nothing acts on it.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the characters that reorder or separate text (bidi marks,
# embeddings, overrides and isolates; the Unicode line and paragraph separators).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text) -> str:
    """`text` on one line with every control and reordering character shown as its escape."""
    return _UNSAFE.sub(_escape, str(text))


def terminal_controls(text: str) -> str:
    """The characters of `text` that can drive a terminal or reorder what it shows, escaped and
    joined ("" when there are none). Tabs and line breaks are ordinary text here."""
    found = dict.fromkeys(ch for ch in _UNSAFE.findall(text) if ch not in _NAMED)
    return "".join(_UNSAFE.sub(_escape, ch) for ch in found)
