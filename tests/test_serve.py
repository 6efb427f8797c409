"""`hftui serve`: the wizard in a real headless browser (Chromium through the DevTools protocol),
a run started from the page that outlives the tab and the server, and the refusals."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from conftest import hftui_cmd
from hftui.core.run.folder import RUNS_SUBDIR
from hftui.core.run.index import write_index
from hftui.core.run.record import RunRecord
from hftui.tui.served_app import ServedApp, live_run
from tiny_presets import sft_preset

CHROMIUM = Path("/usr/bin/chromium")
SERVED = "hftui.tui.served_app"

# textual-serve draws with xterm.js on a canvas: the page's text is in the terminal's buffer, not
# the DOM. This catches the terminal object as the page script stores it (`this.terminal = ...`).
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {configurable: true, set(value) {
  Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
  if (value && value.buffer && !window.__terminal) window.__terminal = value;
}});
"""
SCREEN_TEXT = """(() => {
  const t = window.__terminal; if (!t) return '';
  const b = t.buffer.active, rows = [];
  for (let i = 0; i < t.rows; i++) { const line = b.getLine(b.viewportY + i); rows.push(line ? line.translateToString(true) : ''); }
  return rows.join('\\n');
})()"""
# The wizard's function-key bindings: a browser keeps Ctrl+N and Ctrl+T for itself.
KEYS = {"f8": ("F8", "F8", 119, 0), "f5": ("F5", "F5", 116, 0), "escape": ("Escape", "Escape", 27, 0)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_processes(parent: int) -> set[int]:
    """The served app processes whose parent is `parent` (textual-serve's one per connection)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z" and SERVED in cmdline:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def torch_loaded(*pids: int) -> bool:
    """Whether any of these processes has torch's shared library mapped (imported torch)."""
    return any("libtorch" in Path(f"/proc/{pid}/maps").read_text() for pid in pids)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Page:
    """One browser tab driven through the Chrome DevTools Protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.serial = 0

    async def call(self, method: str, **params):
        self.serial += 1
        serial = self.serial
        await self.ws.send_json({"id": serial, "method": method, "params": params})
        reply = await asyncio.wait_for(self._reply(serial), timeout=30)
        if reply is None:
            raise RuntimeError(f"{method}: the browser closed the connection")
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def _reply(self, serial: int) -> dict | None:
        async for message in self.ws:  # events the page sends meanwhile are passed over
            reply = json.loads(message.data)
            if reply.get("id") == serial:
                return reply
        return None

    async def open(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await self.call("Page.navigate", url=url)

    async def text(self) -> str:
        result = await self.call("Runtime.evaluate", expression=SCREEN_TEXT, returnByValue=True)
        return result["result"].get("value") or ""

    async def wait_for(self, *needles: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.text()
            if all(n in text for n in needles):
                return text
            await asyncio.sleep(0.2)
        raise AssertionError(f"the page never showed {needles}; it shows:\n{text}")

    async def press(self, key: str) -> None:
        name, code, vk, modifiers = KEYS[key]
        await self.call("Runtime.evaluate", expression="window.__terminal.focus()")
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=name, code=code, modifiers=modifiers,
                            windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)


class Browser:
    """Headless Chromium with its DevTools endpoint on a port of its own choosing."""

    def __init__(self, profile: Path):
        self.profile = profile
        self.process = subprocess.Popen(
            [str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.session: aiohttp.ClientSession | None = None
        self.endpoint = ""

    async def start(self) -> None:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.process.poll() is None and time.monotonic() < deadline, "Chromium did not start"
            await asyncio.sleep(0.05)
        self.endpoint = f"http://127.0.0.1:{port_file.read_text().split()[0]}"
        self.session = aiohttp.ClientSession()

    async def new_tab(self) -> tuple[str, Page]:
        async with self.session.put(f"{self.endpoint}/json/new?about:blank") as reply:
            target = await reply.json()
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        return target["id"], Page(ws)

    async def close_tab(self, target_id: str, page: Page) -> None:
        await page.ws.close()
        async with self.session.get(f"{self.endpoint}/json/close/{target_id}") as reply:
            assert reply.status == 200, await reply.text()

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_serve(folder: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    log = folder / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(hftui_cmd("serve", *args), cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TEXTUAL_ANIMATIONS": "none"})
    return process, log


def status_of(url: str, **headers: str) -> int | None:
    """The HTTP status of a GET (None: nothing answers)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as reply:
            return reply.status if b"textual-terminal" in reply.read() else -1
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def printed_address(log: Path) -> str | None:
    found = re.search(r"the wizard is at (http://127\.0\.0\.1:\d+/\?token=\S+)", log.read_text())
    return found.group(1) if found else None


async def websocket_status(url: str, **headers: str) -> int:
    """The status a websocket handshake gets (101: accepted)."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)")
async def test_the_wizard_in_a_browser_and_a_run_that_outlives_the_tab(tmp_path, hftui_home, warm_catalog):
    from hftui.core.run.index import list_runs
    from hftui.core.run.stop import kill_run

    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"text": f"row {i} of the served run"}) + "\n" for i in range(64)))
    (tmp_path / "served.toml").write_text(sft_preset("served", args={"max_steps": 100000, "logging_steps": 1}))
    port = free_port()
    serve, log = start_serve(tmp_path, "--port", str(port), "served.toml")
    browser = Browser(Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)))
    apps: set[int] = set()
    try:
        wait_until(lambda: printed_address(log) or serve.poll() is not None, 20, "the address to be printed")
        url = printed_address(log)
        assert url and serve.poll() is None, log.read_text()
        assert f"ssh -L {port}:127.0.0.1:{port} " in log.read_text()
        wait_until(lambda: status_of(url) == 200, 20, "the server to answer")
        # Without the token, by another name, or from a page elsewhere: refused.
        assert status_of(url.split("?")[0]) == 403
        assert status_of(url, Host=f"rebound.example:{port}") == 403
        ws = f"ws://127.0.0.1:{port}/ws"
        assert await websocket_status(ws) == 403
        cookie = f"hftui-serve-{port}={url.split('token=')[1]}"
        assert await websocket_status(ws, Cookie=cookie, Origin="http://elsewhere.example") == 403
        await browser.start()

        # The wizard's first step, then a key press moves it on; Run starts a run from the page.
        tab, page = await browser.new_tab()
        await page.open(url)
        first = await page.wait_for("1/11", "Model", "Review", timeout=60)
        assert "2/11" not in first
        apps = app_processes(serve.pid)
        assert len(apps) == 1, apps
        assert not torch_loaded(serve.pid) and not torch_loaded(*apps), "the server or the wizard loaded torch to start"
        await page.press("f8")
        await page.wait_for("2/11 · Dataset", timeout=20)
        await page.press("f5")
        await page.wait_for("served", "Stop", timeout=90)  # start_run reads the environment
        assert app_processes(serve.pid) == apps, "the page reloaded instead of passing F5 to the wizard"
        runs = [r for r in list_runs() if r.is_active]
        assert len(runs) == 1 and runs[0].name == "served", runs

        # Closing the tab ends its app, not the run.
        await browser.close_tab(tab, page)
        wait_until(lambda: not any(alive(p) for p in apps), 10, "the tab's app to end")
        assert runs[0].refresh().is_active

        # Opening the page again shows the run's live pane, with the wizard beneath it.
        tab, page = await browser.new_tab()
        await page.open(url)
        shown = await page.wait_for(runs[0].id, "Stop", timeout=60)
        assert "1/11" not in shown
        apps = app_processes(serve.pid)
        assert len(apps) == 1, apps
        await page.press("escape")
        await page.wait_for("1/11", "Model", timeout=20)

        # Stopping the server with a tab open ends that tab's app; the run goes on.
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=15) == 0, log.read_text()
        assert not any(alive(p) for p in apps), "an app process outlived hftui serve"
        assert runs[0].refresh().is_active
    finally:
        await browser.stop()
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=10)
        for pid in apps:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        for run in list_runs():
            if run.is_active:
                kill_run(run)


def starting_run(output_dir: Path, name: str, created: float, status: str = "starting") -> RunRecord:
    """A run as start_run leaves it before its supervisor writes a pid (live for a minute)."""
    run_dir = output_dir / RUNS_SUBDIR / f"20260102-030405-{name}"
    run_dir.mkdir(parents=True)
    record = RunRecord(id=run_dir.name, name=name, preset_path=None, run_dir=run_dir, output_dir=str(output_dir),
                       status=status, created=created)
    record.save()
    write_index(record)
    return record


def test_a_reopened_page_picks_the_live_run_of_this_session_or_folder(tmp_path):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    since = time.time()
    starting_run(here / "out", "done-here", since - 50, status="completed")
    assert live_run(since, here) is None
    older_elsewhere = starting_run(elsewhere / "out", "older-elsewhere", since - 40)
    assert live_run(since, here) is None, "a run from before the server, in another folder, is not this session's"
    older_here = starting_run(here / "out", "older-here", since - 30)
    assert live_run(since, here).id == older_here.id
    assert live_run(since, elsewhere).id == older_elsewhere.id
    newer = starting_run(elsewhere / "out", "newer", since + 1)
    assert live_run(since, here).id == newer.id, "a run started since the server began, wherever it writes"
    assert live_run(None, here).id == older_here.id


async def test_the_served_app_shows_the_live_pane_over_the_wizard(tmp_path):
    from hftui.core.preset import load
    from hftui.tui.screens.monitor import MonitorScreen
    from hftui.tui.screens.wizard import WizardScreen

    (tmp_path / "served.toml").write_text(sft_preset("served", args={"max_steps": 10}))
    run = starting_run(tmp_path / "out", "served", time.time())
    app = ServedApp(load(tmp_path / "served.toml"), gpus=[], warm_catalog=False, live_run_dir=run.run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert isinstance(app.screen, MonitorScreen) and app.screen.run_dir == run.run_dir
        assert any(isinstance(s, WizardScreen) for s in app.screen_stack[:-1])
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert isinstance(app.screen, WizardScreen)


def test_a_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(hftui_cmd("serve", "--port", str(port)), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "fix: pick a free port: hftui serve --port " in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_another_address_is_refused_without_allow_remote(tmp_path):
    out = subprocess.run(hftui_cmd("serve", "--host", "0.0.0.0", "--port", "8123"), cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2, out
    assert "--host 0.0.0.0 would offer the wizard" in out.stderr
    assert "ssh -L 8123:127.0.0.1:8123 " in out.stderr and "--allow-remote" in out.stderr
