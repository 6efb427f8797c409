"""Building the option catalog in a child process, so the process that asks never imports
transformers.

Importing transformers and trl takes seconds and, in the wizard's own process, would hold the
interpreter while a person types and make quitting wait. `CatalogBuild` starts
`python -m hftui.core.options.catalog_build` in a session of its own and is only ever polled,
never waited for: the asking process may leave at any moment, and the child then still finishes
writing the cache under `HFTUI_HOME/catalog/` for the next start (each file is written
atomically, so a child that is killed leaves no half file).
"""

from __future__ import annotations

import os
import subprocess
import sys

# What the child runs; the wizard's tests point it at something quicker.
CHILD_ARGV: tuple[str, ...] = ("-m", "hftui.core.options.catalog_build")


class CatalogBuild:
    """One child building every catalog; `done()` answers without blocking."""

    def __init__(self) -> None:
        env = dict(os.environ, TRL_EXPERIMENTAL_SILENCE="1")
        self.error: str | None = None
        try:
            self.process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, *CHILD_ARGV], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            self.process = None
            self.error = f"could not start a process to read the options: {exc}"

    def done(self) -> bool:
        """Whether the child has ended (or never started)."""
        return self.process is None or self.process.poll() is not None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


def main() -> int:
    from hftui.core.options.catalog import warm_all

    warm_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
