"""Small filesystem helpers shared by the engine: the state directory and atomic writes.

Everything hftui writes for a user (presets, run records) goes through `atomic_write_text`
so that a crash or a full disk never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def state_dir() -> Path:
    """The per-user state directory (`HFTUI_HOME`, else the platform's user state dir)."""
    home = os.environ.get("HFTUI_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("hftui", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the user only; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    return path


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` to `path` via a temp file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
