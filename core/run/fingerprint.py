"""Fingerprints of the local files a run reads: their sizes and content hashes, in bounded time.

A run's data may be gigabytes, and hashing all of it would hold up the start. So a file up to
`WHOLE_HASH_BYTES` is hashed whole, a larger one by its size and its first and last
`SAMPLE_BYTES` (the record says so), and once `TIME_BUDGET_S` is spent the files left get their
size only. Only regular files are opened (a pipe or a device is named, never read).
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from pathlib import Path
from typing import Any

from hftui.core.regular_file import Refused, open_regular

WHOLE_HASH_BYTES = 64 << 20  # hashed whole up to this size
SAMPLE_BYTES = 8 << 20  # above it: the first and last this many bytes, plus the size
TIME_BUDGET_S = 2.0  # for all the files of one run together
MAX_FILES = 200  # files listed per folder or pattern
_CHUNK = 1 << 20
HASH_NAME = "sha256"


def _mib(n: int) -> str:
    return f"{n >> 20} MiB"


WHOLE = "whole file"
SAMPLED = f"first and last {_mib(SAMPLE_BYTES)} and the size (file over {_mib(WHOLE_HASH_BYTES)})"
OUT_OF_TIME = f"not hashed: the {TIME_BUDGET_S:g} s hashing budget was spent"


class Budget:
    """The time left for hashing, shared by every file of one record."""

    def __init__(self, seconds: float = TIME_BUDGET_S):
        self.deadline = time.monotonic() + seconds

    @property
    def spent(self) -> bool:
        return time.monotonic() >= self.deadline


def _feed(digest, fh, limit: int, budget: Budget) -> bool:
    """Hash up to `limit` bytes from where `fh` stands; False when the budget ran out first."""
    left = limit
    while left > 0:
        if budget.spent:
            return False
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return True


def fingerprint(path: str | Path, budget: Budget) -> dict[str, Any]:
    """`{"path", "size", "sha256", "hashed"}` of one file; `error` instead when it cannot be read."""
    path = Path(path)
    entry: dict[str, Any] = {"path": str(path)}
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            entry["size"] = size
            if budget.spent:
                entry.update(sha256=None, hashed=OUT_OF_TIME)
                return entry
            digest = hashlib.new(HASH_NAME)
            if size <= WHOLE_HASH_BYTES:
                done, how = _feed(digest, fh, size, budget), WHOLE
            else:
                digest.update(str(size).encode())
                done = _feed(digest, fh, SAMPLE_BYTES, budget)
                fh.seek(size - SAMPLE_BYTES)
                done = done and _feed(digest, fh, SAMPLE_BYTES, budget)
                how = SAMPLED
    except Refused as exc:
        entry["error"] = f"{path} {exc.reason}"
        return entry
    except OSError as exc:
        entry["error"] = f"{path} cannot be read: {exc.strerror or exc}"
        return entry
    if done:
        entry.update(sha256=digest.hexdigest(), hashed=how)
    else:
        entry.update(sha256=None, hashed=OUT_OF_TIME)
    return entry


def expand(path: str | Path) -> list[Path]:
    """The files a data path names: itself, the files a glob pattern matches, or the files of a
    folder (recursively, hidden ones left out), at most `MAX_FILES`, in a stable order."""
    text = str(path)
    if glob.has_magic(text):
        return [Path(p) for p in sorted(glob.glob(text, recursive=True))[:MAX_FILES] if Path(p).is_file()]
    p = Path(text)
    if p.is_dir():
        found: list[Path] = []
        for child in sorted(p.rglob("*")):
            if any(part.startswith(".") for part in child.relative_to(p).parts):
                continue
            if child.is_file():
                found.append(child)
                if len(found) >= MAX_FILES:
                    break
        return found
    return [p]


def fingerprint_all(paths: list[str | Path], budget: Budget) -> list[dict[str, Any]]:
    """The fingerprint of every file the paths name (see `expand`)."""
    out = []
    for path in paths:
        files = expand(path)
        if not files:
            out.append({"path": str(path), "error": f"{path} matches no file"})
        out.extend(fingerprint(f, budget) for f in files)
    return out
