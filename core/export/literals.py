"""How a preset's values enter generated code and shell: as literals, never as text.

A preset can come from anyone. Its name, paths and values end up inside a Python script, a shell
command, a SLURM batch script and their comments; spliced in as text, a name that closes a
docstring or a path holding a newline, `$(...)` or backticks would run when the artefact runs.
So every value goes through one of these: a Python literal (`literal`, `pretty`), a shell word
(`shlex.quote`, used by the targets directly), a comment kept on its one line (`comment`), or a
heredoc whose end marker the body cannot contain (`heredoc_marker`).
"""

from __future__ import annotations

import ast
import math
import pprint

from hftui.core.printable import printable


def literal(value) -> str:
    """`value` as Python source that evaluates to it and does nothing else: a literal (a float
    that is not finite as `float("inf")`; anything TOML holds beyond literals, as its text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner}{',' if len(value) == 1 else ''})"
        return f"[{inner}]"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    return repr(str(value))


def pretty(value) -> str:
    """`literal(value)` laid out over lines for reading, when the layout is a literal too."""
    text = pprint.pformat(value, width=100, sort_dicts=False)
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return literal(value)
    return text


def comment(text: str) -> str:
    """A `#` comment line (shell, Python, YAML) that stays one line whatever `text` holds."""
    return "# " + printable(text)


def heredoc_marker(base: str, body: str) -> str:
    """An end marker for a quoted heredoc (`<<'MARKER'`) that no line of `body` can end early."""
    marker = base
    while marker in body:
        marker += "_"
    return marker
