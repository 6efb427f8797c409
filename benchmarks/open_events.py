"""How long a long run takes to open in the live pane, and how much memory its history needs.

    python benchmarks/open_events.py [--events 200000] [--ingest 1000000] [--repeat 3]

Writes synthetic runs shaped like a real one (a log event per step, eval every 500 steps, a GPU
sample every 10 steps on two devices, a checkpoint every 5,000 steps) into a temporary folder,
then measures, each in a fresh subprocess so that peak resident memory is its own:

- fold: reading events.jsonl by offset in 1 MiB chunks (core.run.events.EventTail) and folding
  it into a RunState (`apply_lines`, as the live pane does): seconds, events per second, peak Python heap (tracemalloc, a second pass)
  and peak resident memory (getrusage);
- monitor: MonitorScreen in a headless Textual app (App.run_test) from creating the app until
  the whole history is drawn: seconds and peak resident memory of the TUI process;
- ingest: the fold of the larger file (events per second, memory), the figure a multi-day run
  with per-step logging reaches.

Prints a table (and `--json` the raw figures). Numbers depend on the machine; benchmarks/README.md
records them with the machine they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_run(folder: Path, events: int) -> Path:
    """A run folder with about `events` events, written fast (no EventWriter per line)."""
    run_dir = folder / "out" / ".hftui" / f"bench-{events}"
    run_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    steps_est = int(events / 1.3) + 1  # per step: one log, 0.2 gpu, a few evals/checkpoints
    t0 = now - steps_est * 0.05
    n = 0
    step = 0
    gib = 2**30
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "start", "time": t0, "step": 0, "max_steps": steps_est, "num_train_epochs": 3,
                             "num_processes": 2, "preset": "bench", "trainer_type": "sft", "model": "scratch:llama",
                             "run_id": run_dir.name, "device": "cuda"}) + "\n")
        n += 1
        lines = []
        while n < events:
            step += 1
            t = t0 + step * 0.05
            lines.append(json.dumps({"event": "log", "time": round(t, 3), "step": step,
                                     "loss": 3.0 / (1 + step / 5000) + (step * 7919 % 101) / 1000,
                                     "grad_norm": 1.0 + (step % 17) / 10, "learning_rate": 2e-4 * (1 - step / steps_est),
                                     "epoch": round(3 * step / steps_est, 5), "samples_per_second": 64.0,
                                     "tokens_per_second": 32768.0}))
            n += 1
            if step % 10 == 0 and n < events:
                lines.append(json.dumps({"event": "gpu", "time": round(t, 3), "step": step, "devices": [
                    {"index": i, "name": "NVIDIA H100 80GB HBM3", "used": (40 + (step % 100) / 10) * gib,
                     "total": 80 * gib, "util": 90 + step % 10} for i in range(2)]}))
                n += 1
            if step % 500 == 0 and n < events:
                lines.append(json.dumps({"event": "eval", "time": round(t, 3), "step": step,
                                         "eval_loss": 2.5 / (1 + step / 8000), "eval_accuracy": min(1.0, step / steps_est),
                                         "eval_runtime": 4.2, "eval_samples_per_second": 240.0, "epoch": 3 * step / steps_est}))
                n += 1
            if step % 5000 == 0 and n < events:
                lines.append(json.dumps({"event": "checkpoint", "time": round(t, 3), "step": step,
                                         "path": str(folder / "out" / f"checkpoint-{step}")}))
                n += 1
            if len(lines) >= 10000:
                fh.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            fh.write("\n".join(lines) + "\n")
    (run_dir / "log.txt").write_text("".join(f"step {i}: loss ok\n" for i in range(5000)), encoding="utf-8")
    return run_dir


def _rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_fold(run_dir: Path, with_tracemalloc: bool) -> dict:
    from hftui.core.run.events import EventTail
    from hftui.core.run.state import RunState

    if with_tracemalloc:
        import tracemalloc

        tracemalloc.start()
    base_rss = _rss_mib()
    t, cpu = time.perf_counter(), _cpu_s()
    tail, state = EventTail(run_dir / "events.jsonl"), RunState()
    while True:  # what the live pane does: bounded chunks of raw lines
        before = tail.offset
        state.apply_lines(tail.read_lines(1 << 20))
        if tail.offset - before < (1 << 20):
            break
    seconds = time.perf_counter() - t
    out = {"seconds": seconds, "cpu_s": _cpu_s() - cpu, "events": state.events_seen, "events_per_second": state.events_seen / seconds,
           "rss_peak_mib": _rss_mib(), "rss_before_mib": base_rss,
           "series_points": len(state.loss), "bytes": tail.offset}
    if with_tracemalloc:
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        out.update(heap_peak_mib=peak / 2**20, heap_kept_mib=current / 2**20)
    return out


def measure_monitor(run_dir: Path) -> dict:
    import asyncio

    base_rss = _rss_mib()
    t_import = time.perf_counter()
    from textual.app import App

    from hftui.tui.screens.monitor import MonitorScreen

    import_s = time.perf_counter() - t_import

    class Bench(App):
        def on_mount(self) -> None:
            self.push_screen(MonitorScreen(run_dir))

    async def run() -> dict:
        t0, cpu = time.perf_counter(), _cpu_s()
        app = Bench()
        async with app.run_test(size=(120, 40)) as pilot:
            while True:
                await pilot.pause(0.01)
                screen = app.screen
                if isinstance(screen, MonitorScreen) and screen.first_full_render is not None:
                    break
                if time.perf_counter() - t0 > 120:
                    raise RuntimeError("the monitor did not finish loading in 120 s")
            await pilot.pause()  # the frame with the whole history is painted
            opened = time.perf_counter() - t0
            cpu_s = _cpu_s() - cpu
            events = screen.state.events_seen
            # responsiveness once loaded: a key press round trip
            t1 = time.perf_counter()
            await pilot.press("l")
            key_s = time.perf_counter() - t1
        return {"seconds": opened, "cpu_s": cpu_s, "events": events, "key_roundtrip_s": key_s}

    out = asyncio.run(run())
    out.update(rss_peak_mib=_rss_mib(), rss_before_mib=base_rss, import_s=import_s)
    return out


def _child(kind: str, run_dir: Path, tracemalloc_pass: bool = False) -> dict:
    args = [sys.executable, __file__, "--child", kind, "--run-dir", str(run_dir)]
    if tracemalloc_pass:
        args.append("--tracemalloc")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step {kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the run opened by the monitor")
    parser.add_argument("--ingest", type=int, default=1_000_000, help="events in the ingestion run (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; the best is reported")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--child", choices=("fold", "monitor"), help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "fold":
        print(json.dumps(measure_fold(args.run_dir, args.tracemalloc)))
        return 0
    if args.child == "monitor":
        print(json.dumps(measure_monitor(args.run_dir)))
        return 0

    results: dict[str, dict] = {}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hftui-bench-") as tmp:
        os.environ["HFTUI_HOME"] = str(Path(tmp) / "home")
        small = write_run(Path(tmp) / "small", args.events)
        size_mib = (small / "events.jsonl").stat().st_size / 2**20
        fold = _best([_child("fold", small) for _ in range(args.repeat)])
        fold.update({k: v for k, v in _child("fold", small, True).items() if k.startswith("heap")})
        results["fold"] = fold
        results["monitor"] = _best([_child("monitor", small) for _ in range(args.repeat)])
        empty = write_run(Path(tmp) / "empty", 1)
        results["monitor_empty"] = _best([_child("monitor", empty) for _ in range(args.repeat)])
        if args.ingest:
            big = write_run(Path(tmp) / "big", args.ingest)
            results["ingest"] = _best([_child("fold", big) for _ in range(max(1, args.repeat - 1))])
            results["ingest"].update({k: v for k, v in _child("fold", big, True).items() if k.startswith("heap")})
            results["ingest"]["file_mib"] = (big / "events.jsonl").stat().st_size / 2**20

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"machine: {machine}; load average before: {load[0]:.1f}")
    print(f"{'measure':<46} {'value':>14}")
    print("-" * 61)
    f, m, e = results["fold"], results["monitor"], results["monitor_empty"]
    rows = [
        (f"fold {f['events']:,} events ({size_mib:.0f} MiB) into RunState", f"{f['seconds']:.2f} s"),
        ("  CPU time", f"{f['cpu_s']:.2f} s"),
        ("  events per second", f"{f['events_per_second']:,.0f}"),
        ("  peak Python heap while folding", f"{f['heap_peak_mib']:.1f} MiB"),
        ("  heap kept by the folded state", f"{f['heap_kept_mib']:.2f} MiB"),
        (f"MonitorScreen open -> history drawn ({m['events']:,} ev.)", f"{m['seconds']:.2f} s"),
        ("  CPU time (both threads)", f"{m['cpu_s']:.2f} s"),
        ("  the same for an empty run (Textual start)", f"{e['seconds']:.2f} s"),
        ("  imports before that (Textual, the pane)", f"{m['import_s']:.2f} s"),
        ("  key press round trip once loaded", f"{m['key_roundtrip_s'] * 1000:.0f} ms"),
        ("  the same in the empty run", f"{e['key_roundtrip_s'] * 1000:.0f} ms"),
        ("  TUI process peak resident memory", f"{m['rss_peak_mib']:.0f} MiB"),
        ("  of which before importing Textual", f"{m['rss_before_mib']:.0f} MiB"),
    ]
    if "ingest" in results:
        g = results["ingest"]
        rows += [
            (f"ingest {g['events']:,} events ({g['file_mib']:.0f} MiB)", f"{g['seconds']:.2f} s"),
            ("  CPU time", f"{g['cpu_s']:.2f} s"),
            ("  events per second", f"{g['events_per_second']:,.0f}"),
            ("  peak Python heap while folding", f"{g['heap_peak_mib']:.1f} MiB"),
            ("  heap kept by the folded state", f"{g['heap_kept_mib']:.2f} MiB"),
            ("  peak resident memory", f"{g['rss_peak_mib']:.0f} MiB"),
        ]
    for label, value in rows:
        print(f"{label:<46} {value:>14}")
    if args.json:
        print(json.dumps({"machine": machine, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
