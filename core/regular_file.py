"""Opening a file a person named (a preset, a data file) without trusting what it is.

A named pipe blocks its reader until something writes to it, `/dev/zero` never ends, a device
may be terabytes, and a symbolic link loop has no target at all: reading any of them would hang
`validate`, a run or the wizard. So a path is looked at (stat) before it is opened, only regular
files are opened, the open itself never blocks, and every read has a cap.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from hftui.core.i18n import N_, _


class Refused(Exception):
    """A path that is not a readable regular file. `reason` completes "<path> ..." in English and
    stays so (callers tell the cases apart by it); `text` is the same in the reader's language,
    to show after the path and a colon; `hint` is the fix, in the reader's language."""

    def __init__(self, reason: str, hint: str = "", **values: object):
        self.reason = reason.format(**values) if values else reason
        self.text = _(reason, **values)
        self.hint = _(hint) if hint else ""
        super().__init__(self.text)


_SPECIAL = (
    (stat.S_ISFIFO, N_("is a named pipe (FIFO), not a regular file"), N_("a pipe blocks until something writes to it: save the data to a file and name that file")),
    (stat.S_ISCHR, N_("is a character device, not a regular file"), N_("name a file that holds the data (a device such as /dev/zero never ends)")),
    (stat.S_ISBLK, N_("is a block device (a disk), not a regular file"), N_("name a file that holds the data")),
    (stat.S_ISSOCK, N_("is a socket, not a regular file"), N_("name a file that holds the data")),
)


def _mode_problem(mode: int) -> Refused | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return Refused(N_("is a folder, not a file"), N_("name a file inside it"))
    for test, reason, hint in _SPECIAL:
        if test(mode):
            return Refused(reason, hint)
    return Refused(N_("is not a regular file"), N_("name a regular file"))


def _os_problem(path: Path, exc: OSError) -> Refused:
    if exc.errno == errno.ELOOP:
        return Refused(N_("is a symbolic link loop (following it leads back to itself)"), N_("point the link at a real file, or name the file itself"))
    if exc.errno == errno.ENOENT:
        if os.path.lexists(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return Refused(N_("is a symbolic link to {target}, which does not exist"), N_("fix the link, or name the file itself"), target=repr(target))
        return Refused(N_("does not exist"), N_("check the path"))
    if exc.errno == errno.ENOTDIR:
        return Refused(N_("does not exist (a part of the path is a file, not a folder)"), N_("check the path"))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Refused(N_("cannot be read (permission denied)"), N_("make it readable (chmod u+r)"))
    if exc.errno == errno.ENAMETOOLONG:
        return Refused(N_("has a name too long for the file system"), N_("use a shorter path"))
    return Refused(N_("cannot be read: {error}"), "", error=exc.strerror or exc)


def check_regular(path: str | Path) -> Refused | None:
    """None when `path` is (or links to) a regular file; otherwise what it is, in words."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return _os_problem(Path(path), exc)
    except ValueError:  # an embedded NUL byte
        return Refused(N_("is not a valid path (it contains a NUL character)"), N_("check the path"))
    return _mode_problem(st.st_mode)


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading; raises Refused for anything else, before reading a byte.

    The file is opened non-blocking and checked again on the open descriptor, so a file swapped
    for a pipe between the look and the open is refused too.
    """
    problem = check_regular(path)
    if problem is not None:
        raise problem
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_problem(Path(path), exc) from None
    try:
        problem = _mode_problem(os.fstat(fd).st_mode)
    except OSError as exc:
        os.close(fd)
        raise _os_problem(Path(path), exc) from None
    if problem is not None:
        os.close(fd)
        raise problem
    return os.fdopen(fd, "rb")


def read_capped(path: str | Path, limit: int) -> tuple[bytes, bool]:
    """(the first `limit` bytes, whether the file holds more) of a regular file; Refused otherwise."""
    with open_regular(path) as fh:
        try:
            head = fh.read(limit)
            more = bool(fh.read(1))
        except OSError as exc:
            raise _os_problem(Path(path), exc) from None
    return head, more
