"""The TUI process's resident memory while it monitors a run (`hftui attach`).

    python benchmarks/monitor_memory.py [--steps 400] [--events 200000] [--window 15]

1. live: `hftui run PRESET --detach --set args.max_steps=N` (a real tiny training run, its own
   output_dir and HFTUI_HOME in a temporary folder), then `hftui attach <id>` in a
   pseudo-terminal (Python's `pty`, 120x40). The attach process's VmRSS is read from
   /proc/<pid>/status every 0.5 s until run.json says the run ended, and for 2 s more
   (the final frame); the terminal is drained all along, as a real terminal would.
2. history: `hftui attach <folder>` on a finished run of about 200,000 events, written the way
   benchmarks/open_events.py writes one (a log event per step, GPU samples, evals,
   checkpoints), sampled the same way for --window seconds (the pane reads the whole history
   in about a second on an idle machine).

Prints the peak, median and last sample of each. The attach process is the `hftui` process
itself (the console script runs Python directly), so its VmRSS is the TUI's memory; the
training runs in other processes.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HFTUI = str(Path(sys.executable).parent / "hftui")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from open_events import write_run  # noqa: E402  (the same synthetic history)


def vm_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def sample_attach(target: str, env: dict, finished, after: float, limit: float = 900.0) -> dict:
    """Start `hftui attach target` in a pty; sample its VmRSS every 0.5 s until `finished()`
    has been true for `after` seconds."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([HFTUI, "attach", target], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    samples: list[float] = []
    t0 = time.monotonic()
    next_sample = t0
    done_at = None
    try:
        while True:
            now = time.monotonic()
            if now >= next_sample:
                rss = vm_rss_mib(proc.pid)
                if rss is None or proc.poll() is not None:
                    raise RuntimeError(f"hftui attach exited early ({proc.returncode})")
                samples.append(rss)
                next_sample += 0.5
                if done_at is None and finished():
                    done_at = now
                if done_at is not None and now - done_at >= after:
                    break
                if now - t0 > limit:
                    raise RuntimeError(f"the run did not end within {limit:.0f} s")
            ready, _, _ = select.select([master], [], [], max(0.0, next_sample - time.monotonic()))
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=3)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        os.close(master)
    return {"peak": max(samples), "median": statistics.median(samples), "last": samples[-1], "n": len(samples),
            "seconds": time.monotonic() - t0}


def live_run(tmp: Path, env: dict, preset: str, steps: int) -> tuple[dict, dict]:
    out = tmp / "live-out"
    proc = subprocess.run([HFTUI, "run", preset, "--detach", "--set", f"args.max_steps={steps}",
                           "--set", f"args.output_dir={out}"], env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"hftui run --detach failed:\n{proc.stderr}")
    run_id = proc.stdout.strip().splitlines()[-1]
    (record,) = list(out.glob(f".hftui/{run_id}/run.json"))

    def ended() -> bool:
        try:
            return json.loads(record.read_text()).get("status") in ("completed", "stopped", "failed")
        except (OSError, ValueError):
            return False

    result = sample_attach(run_id, env, ended, after=2.0)
    final = json.loads(record.read_text())
    events = sum(1 for _ in open(record.parent / "events.jsonl", encoding="utf-8"))
    return result, {"status": final.get("status"), "events": events, "run_id": run_id}


def history_run(tmp: Path, env: dict, events: int, window: float) -> tuple[dict, dict]:
    run_dir = write_run(tmp / "history", events)
    now = time.time()
    lines = sum(1 for _ in open(run_dir / "events.jsonl", encoding="utf-8"))
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "end", "time": now, "step": lines, "status": "completed", "error": None,
                             "best_metric": None, "best_checkpoint": None, "output_dir": str(run_dir.parent.parent),
                             "runtime": 0.0}) + "\n")
    (run_dir / "run.json").write_text(json.dumps({
        "id": run_dir.name, "name": "bench-history", "preset_path": None, "run_dir": str(run_dir),
        "output_dir": str(run_dir.parent.parent), "host": socket.gethostname(), "status": "completed",
        "created": now - 3600, "started": now - 3600, "ended": now, "exit_code": 0}))
    result = sample_attach(str(run_dir), env, lambda: True, after=window)
    return result, {"events": lines + 1, "mib": (run_dir / "events.jsonl").stat().st_size / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="max_steps of the live run (default 400)")
    parser.add_argument("--events", type=int, default=200_000, help="events in the finished run (default 200000)")
    parser.add_argument("--window", type=float, default=15.0, help="seconds to sample the finished run (default 15)")
    parser.add_argument("--preset", default="presets/quickstart.toml")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hftui-bench-monitor-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ, HFTUI_HOME=str(tmp / "home"), TERM="xterm-256color")
        live, live_info = live_run(tmp, env, args.preset, args.steps)
        hist, hist_info = history_run(tmp, env, args.events, args.window)

    print(f"command: python benchmarks/monitor_memory.py --steps {args.steps} --events {args.events} "
          f"--window {args.window:g} --preset {args.preset}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average before: {load:.1f}")
    print()
    print(f"{'hftui attach, VmRSS of the TUI process every 0.5 s':<62} {'peak':>8} {'median':>8} {'last':>8} {'samples':>8}")
    print("-" * 98)
    live_label = f"live run, {args.steps} steps, until it ended (+2 s); {live_info['events']} events"
    hist_label = f"finished run, {hist_info['events']:,} events ({hist_info['mib']:.0f} MiB), {args.window:g} s"
    for label, r in ((live_label, live), (hist_label, hist)):
        print(f"{label:<62} {r['peak']:>5.0f} MiB {r['median']:>4.0f} MiB {r['last']:>4.0f} MiB {r['n']:>8}")
    print()
    print(f"live run: status {live_info['status']}, attached for {live['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
