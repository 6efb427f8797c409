"""Which lines of a run's log are the libraries talking to their developers (deprecation and
future warnings, DeepSpeed's accelerator banner), not to the person training.

log.txt keeps every line; the live pane shows the rest and says how many it left out.
"""

from __future__ import annotations

import re

# `path/to/module.py:123: FutureWarning: ...` as Python's warnings module prints it; the next line
# is the source line that warned, indented.
_PY_WARNING = re.compile(r"^\S.*\.py:\d+: (FutureWarning|DeprecationWarning|PendingDeprecationWarning|UserWarning"
                         r"|TRLExperimentalWarning|SyntaxWarning|ResourceWarning): ")
_LIBRARY_BANNER = re.compile(
    r"(\[real_accelerator\.py:\d+:\w+\] Setting ds_accelerator to"
    r"|DeepSpeed info: version="
    r"|\[(INFO|WARNING)\]\s+\[(logging|torch|real_accelerator)\.py"
    r"|Warning: The cache for model files in Transformers"
    r"|is deprecated and will be removed in"
    r")"
)


class NoiseFilter:
    """Feeds on lines as they arrive (in batches of any size) and keeps those meant for people."""

    def __init__(self) -> None:
        self.hidden = 0
        self._in_warning = False  # the previous line was a Python warning: its source line follows

    def keep(self, line: str) -> bool:
        if self._in_warning and line.startswith((" ", "\t")):
            self._in_warning = False
            self.hidden += 1
            return False
        self._in_warning = bool(_PY_WARNING.match(line))
        if self._in_warning or _LIBRARY_BANNER.search(line):
            self.hidden += 1
            return False
        return True

    def filter(self, lines: list[str]) -> list[str]:
        return [line for line in lines if self.keep(line)]
