"""`hftui serve [--port P] [--host H] [PRESET]`: the wizard in a browser, through textual-serve.

Each browser connection runs its own app process (`hftui.tui.served_app`); runs started there
train detached, so closing the tab leaves them going and opening the page again shows the live
pane. The server listens on 127.0.0.1 only unless told otherwise: the wizard starts training
runs on this machine and textual-serve has no login, so another address needs --allow-remote,
and the way in from another computer is an SSH tunnel. The printed address carries a token
for this session (other users of the machine can reach 127.0.0.1 too).
"""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import shlex
import socket
import sys
import time
from pathlib import Path

from hftui.core.i18n import _

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"
SERVED_MODULE = "hftui.tui.served_app"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a port number (write a whole number, e.g. {port})", text=text, port=DEFAULT_PORT)) from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(_("{port} is not a port number (1 to 65535, e.g. {default})", port=port, default=DEFAULT_PORT))
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preset", nargs="?", help=_("a preset to open (default: the quickstart preset)"))
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=_("the port to listen on (default: {port})", port=DEFAULT_PORT))
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=_("the address to listen on (default: {host}, this machine only; reach it with ssh -L)", host=DEFAULT_HOST))
    parser.add_argument("--allow-remote", action="store_true",
                        help=_("listen on an address other computers can reach (anyone who reaches it can start runs)"))


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def tunnel_line(port: int, host: str = DEFAULT_HOST) -> str:
    """The command a person runs on their own computer to reach a server on host:port here."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    target = f"[{host}]" if ":" in host else DEFAULT_HOST if host.rstrip(".") == "localhost" else host
    return f"ssh -L {port}:{target}:{port} {user}@{socket.gethostname() or 'gpu-box'}"


def bind_problem(host: str, port: int) -> tuple[int, str] | None:
    """(errno, reason) when the server could not listen on host:port; None when it can.

    Binds as the server will (SO_REUSEADDR), so a port left in TIME_WAIT by an earlier server
    counts as free and one a program listens on does not.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return errno.EADDRNOTAVAIL, _("{host!r} is not an address of this machine ({reason})", host=host, reason=exc.strerror)
    for family, kind, proto, _name, address in addresses:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
        except OSError as exc:
            return exc.errno or 0, exc.strerror or str(exc)
    return None


def _free_port_near(host: str, port: int) -> int | None:
    for candidate in range(port + 1, min(port + 50, 65535) + 1):
        if bind_problem(host, candidate) is None:
            return candidate
    return None


def _error(message: str, fix: str) -> int:
    from hftui.core.printable import printable
    from hftui.core.run.folder import EXIT_INVALID

    print(_("hftui {command}: error: {message}", command="serve", message=printable(message)), file=sys.stderr)
    print("    " + _("fix: {hint}", hint=printable(fix)), file=sys.stderr)
    return EXIT_INVALID


def _cannot_listen(host: str, port: int, code: int, reason: str) -> int:
    if code == errno.EADDRINUSE:
        free = _free_port_near(host, port)
        fix = (_("pick a free port: hftui serve --port {free}; or stop the program that listens on {port}", free=free, port=port) if free
               else _("pick a free port: hftui serve --port N with another port; or stop the program that listens on {port}", port=port))
        return _error(_("port {port} on {host} is already in use (another hftui serve, or another program listens there)", port=port, host=host),
                      fix)
    if code == errno.EACCES:
        return _error(_("not allowed to listen on port {port} ({reason})", port=port, reason=reason),
                      _("use a port above 1023, e.g. --port {default}", default=DEFAULT_PORT))
    return _error(_("cannot listen on {host}:{port}: {reason}", host=host, port=port, reason=reason),
                  _("use --host {default} (the default) and reach it with ssh -L", default=DEFAULT_HOST))


def served_command(preset: str | None, since: float, folder: Path) -> str:
    """The shell command textual-serve runs for each connection (`exec`: the app is its child)."""
    argv = [sys.executable, "-m", SERVED_MODULE, "--since", repr(since), "--folder", str(folder), "--parent", str(os.getpid())]
    if preset:
        argv += ["--", preset]
    return "exec " + shlex.join(argv)


def main(args: argparse.Namespace) -> int:
    from hftui.core.run.folder import EXIT_OK
    from hftui.tui.serve_web import HftuiServer, is_loopback

    local = is_loopback(args.host)
    if not local and not args.allow_remote:
        return _error(
            _("--host {host} would offer the wizard, which starts training runs here, over plain HTTP to "
              "every computer that can reach this machine's port {port}", host=args.host, port=args.port),
            _("keep the default --host {default} and forward the port from your own computer: {tunnel} "
              "(or add --allow-remote on a network you trust)", default=DEFAULT_HOST, tunnel=tunnel_line(args.port)))
    if args.preset:
        from hftui.core.problems import PresetError
        from hftui.tui.commands.wizard import open_preset
        from hftui.tui.errors import print_problems

        try:
            open_preset(args.preset)
        except PresetError as exc:
            print_problems(exc.problems, exc.file)
            return _error(_("cannot open {preset}", preset=args.preset),
                          _("fix the preset above, or leave it out to start from the quickstart"))
    problem = bind_problem(args.host, args.port)
    if problem is not None:
        return _cannot_listen(args.host, args.port, *problem)

    token = secrets.token_urlsafe(18)
    url = f"{url_of(args.host, args.port)}/?token={token}"
    command = served_command(args.preset, time.time(), Path.cwd())
    lines = [_("hftui serve: the wizard is at {url}", url=url)]
    if local:
        lines += ["  " + _("From your own computer, forward the port over SSH, then open that address there:"),
                  f"    {tunnel_line(args.port, args.host)}"]
    else:
        lines += ["  " + _("warning: listening on {host} over plain HTTP: whoever sees this address (its token too) "
                           "can start runs on this machine", host=args.host)]
    lines += ["  " + _("Runs started in the page keep training when the tab closes; open the page again to watch them."),
              "  " + _("Ctrl+C stops serving; the runs go on.")]
    print("\n".join(lines), flush=True)
    try:
        HftuiServer(command, args.host, args.port, token=token, local_only=local).serve()
    except OSError as exc:  # taken between the check and the start
        return _cannot_listen(args.host, args.port, exc.errno or 0, exc.strerror or str(exc))
    return EXIT_OK
