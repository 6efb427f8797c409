"""The web server of `hftui serve`: textual-serve's `Server`, kept to what a local tool needs.

textual-serve starts one app process per browser connection and ends it when the page closes.
On top of that, this server
- asks for the session's token: the address `hftui serve` prints carries it (`/?token=...`), the
  page sets it as a cookie and the websocket must bring that cookie back. textual-serve has no
  login of its own, and on a shared machine every user can reach 127.0.0.1;
- takes a page or websocket only from a browser that asked for this machine by a loopback name
  (127.0.0.1, localhost, ::1): a web page elsewhere that points a name of its own at 127.0.0.1
  (DNS rebinding) cannot reach the wizard, which can start training runs. Bound to another
  address (`--allow-remote`), it still refuses a websocket opened by a page of another origin;
- builds the page's websocket address from the address the browser used, so a tunnel that
  forwards another local port (`ssh -L 9000:127.0.0.1:8000`) works too;
- on Ctrl+C or SIGTERM asks every open session's app to quit and waits for it, so no app
  process outlives the server (each app also ends itself if the server dies: see served_app).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import signal
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

from hftui.core.i18n import _

SHUTDOWN_WAIT_S = 5.0  # how long the sessions' apps get to quit when the server stops


def host_name(host_header: str) -> str:
    """`127.0.0.1:8000` -> `127.0.0.1`, `[::1]:8000` -> `::1`, lower-cased."""
    try:
        return (urlsplit(f"//{host_header}").hostname or "").lower()
    except ValueError:
        return ""


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HftuiServer(Server):
    """`Server(command, host, port)` with the checks above; `local_only`: loopback names only;
    `token`: the secret the printed address carries."""

    def __init__(self, command: str, host: str, port: int, *, token: str, local_only: bool = True) -> None:
        super().__init__(command, host=host, port=port, title="hftui")
        self.token = token
        self.local_only = local_only
        self.cookie = f"hftui-serve-{port}"
        self._sessions: set[asyncio.Task] = set()

    # -- who may connect --------------------------------------------------------------------------
    def _refusal(self, request: web.Request, websocket: bool) -> str | None:
        host = host_name(request.host)
        if self.local_only and not is_loopback(host):
            return _("hftui serve answers only to a loopback address; open "
                     "http://127.0.0.1:{port}/ (from another computer, through ssh -L)", port=self.port)
        origin = request.headers.get("Origin")
        if websocket and origin is not None and (urlsplit(origin).netloc or "").lower() != request.host.lower():
            return _("a page of another origin may not open the wizard's session")
        offered = [request.cookies.get(self.cookie, "")] + ([] if websocket else [request.query.get("token", "")])
        if not any(hmac.compare_digest(given.encode(), self.token.encode()) for given in offered):
            return _("open the address that hftui serve printed: it carries this session's token (?token=...)")
        return None

    def _base_url(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    async def handle_index(self, request: web.Request) -> Any:
        refusal = self._refusal(request, websocket=False)
        if refusal:
            raise web.HTTPForbidden(text=refusal)
        # textual-serve builds the page's URLs from public_url; the handler runs to the end
        # without yielding, so setting it per request cannot mix two requests up.
        self.public_url = self._base_url(request)
        response = await super().handle_index(request)
        response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        refusal = self._refusal(request, websocket=True)
        if refusal:
            raise web.HTTPForbidden(text=refusal)
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._sessions.discard(task)

    # -- start and stop ---------------------------------------------------------------------------
    async def on_startup(self, app: web.Application) -> None:
        """The command has said where to connect already; textual-serve's banner would repeat it."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Ask each session's app to quit (textual-serve does that when its handler ends)."""
        sessions = [task for task in self._sessions if not task.done()]
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions, timeout=SHUTDOWN_WAIT_S)

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C or SIGTERM. Raises OSError when the address cannot be bound."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        try:
            web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop,
                        print=None, access_log=None, shutdown_timeout=SHUTDOWN_WAIT_S)  # no line per request
        finally:
            if not loop.is_closed():
                loop.close()
