"""How fast the wizard shows its first frame, against `accelerate config` asking its first question.

    python benchmarks/startup.py [--repeat 5] [--preset presets/quickstart.toml]

Each start runs in its own pseudo-terminal (Python's `pty`, 120x40, TERM=xterm-256color), and the
clock runs from just before the process is started until:

- hftui (`hftui PRESET`): the app has drawn its first frame. The app appends "started in N ms"
  to $HFTUI_HOME/logs/startup.log once Textual reports it ready (tui/startup.py); the benchmark
  watches that file while draining the terminal. The catalog cache is built first
  (`hftui validate PRESET` with the same HFTUI_HOME), as it is on any machine after the first use.
- accelerate (`accelerate config`, HOME and HF_HOME a throwaway folder, so no config is found):
  the text of its first question ("In which compute environment") has appeared on the terminal.

Each process is then killed (its own session, its process group). The two are alternated,
A B A B ..., and the ratio is taken pair by pair so that load from other jobs hits both sides of
a pair alike; the table shows medians.

A second table compares two non-interactive commands the same way against
`python -c "import transformers.training_args"` (what any tool that reads TrainingArguments pays):
`hftui --help` and `hftui validate PRESET`.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def _kill_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.wait()


def in_pty(argv: list[str], env: dict, done, cwd: Path, timeout: float = 120.0) -> float:
    """Seconds from starting `argv` in a new pseudo-terminal until `done(screen_bytes)` is true."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    screen = bytearray()
    try:
        while True:
            if done(bytes(screen)):
                return time.perf_counter() - t0
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited ({proc.returncode}) before it was ready:\n"
                                   f"{screen[-2000:].decode(errors='replace')}")
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"{argv[0]} was not ready after {timeout:.0f} s")
            ready, _, _ = select.select([master], [], [], 0.005)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:  # EIO: the terminal closed
                    pass
    finally:
        _kill_group(proc)
        os.close(master)


def time_hftui(preset: str, env: dict) -> float:
    log = Path(env["HFTUI_HOME"]) / "logs" / "startup.log"
    before = log.read_text().count("\n") if log.exists() else 0

    def drawn(_screen: bytes) -> bool:
        try:
            return log.read_text().count("\n") > before
        except OSError:
            return False

    return in_pty([_tool("hftui"), preset], env, drawn, ROOT)


def time_accelerate(tmp: Path, env: dict) -> float:
    home = Path(tempfile.mkdtemp(dir=tmp, prefix="acc-home-"))
    env = dict(env, HOME=str(home), HF_HOME=str(home / "hf"), XDG_CACHE_HOME=str(home / "cache"))
    env.pop("ACCELERATE_CONFIG_FILE", None)
    return in_pty([_tool("accelerate"), "config"], env, lambda s: b"In which compute environment" in s, home)


def time_cmd(argv: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-1500:].decode(errors='replace')}")
    return seconds


def pairs(a, b, n: int) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for _ in range(n):
        xs.append(a())
        ys.append(b())
    return xs, ys


def row(label: str, xs: list[float], ys: list[float], other: str) -> list[str]:
    ratios = [x / y for x, y in zip(xs, ys)]
    return [f"{label:<44} {statistics.median(xs) * 1000:>8.0f} ms  {other:<46} {statistics.median(ys) * 1000:>8.0f} ms"
            f"  {statistics.median(ratios):>6.2f}  ({min(ratios):.2f}-{max(ratios):.2f})"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="pairs of each comparison (default 5)")
    parser.add_argument("--preset", default="presets/quickstart.toml", help="the preset the wizard opens")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hftui-bench-startup-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ, HFTUI_HOME=str(tmp / "home"), TERM="xterm-256color", COLUMNS="120", LINES="40")
        env.pop("NO_COLOR", None)
        # the catalog cache, as on any machine after the first `hftui` (not part of the timing)
        time_cmd([_tool("hftui"), "validate", args.preset], env)
        # one untimed start of each, so that both read their files from a warm page cache
        time_hftui(args.preset, env)
        time_accelerate(tmp, env)

        lines = []
        hx, ax = pairs(lambda: time_hftui(args.preset, env), lambda: time_accelerate(tmp, env), args.repeat)
        lines += row(f"hftui {args.preset} -> first frame", hx, ax, "accelerate config -> 1st question")
        reported, heavy = [], set()
        log = Path(env["HFTUI_HOME"]) / "logs" / "startup.log"
        for line in log.read_text().splitlines()[-args.repeat:]:
            reported.append(float(line.split("started in ")[1].split(" ms")[0]))
            if "heavy modules loaded: " in line:
                heavy.update(line.split("heavy modules loaded: ")[1].rstrip(")").split(", "))

        importer = [sys.executable, "-c", "import transformers.training_args"]
        other = "python -c 'import transformers.training_args'"
        hx, ix = pairs(lambda: time_cmd([_tool("hftui"), "--help"], env), lambda: time_cmd(importer, env), args.repeat)
        lines += row("hftui --help", hx, ix, other)
        vx, ix = pairs(lambda: time_cmd([_tool("hftui"), "validate", args.preset], env), lambda: time_cmd(importer, env), args.repeat)
        lines += row(f"hftui validate {args.preset}", vx, ix, other)

    print(f"command: python benchmarks/startup.py --repeat {args.repeat} --preset {args.preset}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average before: {load:.1f}; {args.repeat} pairs each, run alternately (A B A B ...)")
    print()
    print(f"{'A':<44} {'median A':>11}  {'B':<46} {'median B':>11}  {'A/B':>6}  (range of the pair ratios)")
    print("-" * 142)
    for line in lines:
        print(line)
    print()
    print(f"the app's own figure for the wizard (startup.log, from its first line of Python to ready): "
          f"median {statistics.median(reported):.0f} ms; heavy modules loaded before the first frame: "
          f"{', '.join(sorted(heavy)) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
