"""What `hftui run` costs on top of the same training done by a plain script.

    python benchmarks/runner_overhead.py [--steps 200] [--repeat 3] [--preset presets/quickstart.toml] [--threads 1]
                                         [--set KEY=VALUE ...]

hftui is the one beside this Python (the HFTUI environment variable names another); every command
runs in a temporary folder, so a checkout's own source folders never shadow the installed package.

A: `hftui run PRESET --set args.max_steps=N --set args.output_dir=TMP/a-i` in the foreground
   (validation, the run folder, the supervisor, the worker with its events and stop callbacks,
   the headless display following the run), with its own HFTUI_HOME in a temporary folder.
B: the script `hftui export PRESET --to python` writes for the same preset with the same
   `--set` values (written once to a file, its output_dir changed per run), run with the same
   Python: the same model, data, arguments and seed, without hftui.

Both get the same environment, with OMP_NUM_THREADS=--threads. The order alternates, A B, B A, A B ..., and each ratio is taken within a pair. For each run:

- wall: from starting the command until it exits (everything: imports, data, training, saving);
- CPU time: user+system of the command and the processes it waited for (getrusage of the
  children): steadier than wall time when other jobs share the machine. hftui's supervisor and
  worker count when `hftui run` has reaped the supervisor before it exits (it polls it);
- steps/s, the training loop alone: for A, the `start` and `end` events of the run's
  events.jsonl (end.time - start.time, the span the live pane calls the run); for B, the
  `train_runtime` the Trainer logs (in output_dir/trainer_state.json); both are also given
  from the Trainer's own train_runtime where A has it, the like-for-like figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HFTUI = os.environ.get("HFTUI") or str(Path(sys.executable).parent / "hftui")


def trainer_runtime(output_dir: Path) -> float | None:
    state = output_dir / "trainer_state.json"
    if not state.exists():
        return None
    for entry in reversed(json.loads(state.read_text()).get("log_history", [])):
        if "train_runtime" in entry:
            return float(entry["train_runtime"])
    return None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_hftui(preset: str, sets: list[str], steps: int, out: Path, env: dict) -> dict:
    argv = [HFTUI, "run", preset, *sets, "--set", f"args.max_steps={steps}", "--set", f"args.output_dir={out}"]
    t0, cpu0, clock0 = time.perf_counter(), _children_cpu(), time.time()
    proc = subprocess.run(argv, env=env, cwd=out.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    wall, cpu, clock1 = time.perf_counter() - t0, _children_cpu() - cpu0, time.time()
    if proc.returncode != 0:
        raise SystemExit(f"hftui run failed ({proc.returncode}):\n{proc.stdout[-3000:].decode(errors='replace')}")
    (events_path,) = list(out.glob(".hftui/*/events.jsonl"))
    events = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
    start = next(e for e in events if e["event"] == "start")
    end = next(e for e in events if e["event"] == "end")
    if end.get("status") != "completed" or end.get("step") != steps:
        raise SystemExit(f"the hftui run did not complete {steps} steps: {end}")
    logged = [e.get("train_runtime") for e in events if e.get("train_runtime") is not None]
    runtime = float(logged[-1]) if logged else trainer_runtime(out)
    record = json.loads((events_path.parent / "run.json").read_text())
    phases = {  # wall-clock seconds, from this process's clock and the run's own timestamps
        "validate+spawn": record["started"] - clock0,
        "worker to training": start["time"] - record["started"],
        "training": end["time"] - start["time"],
        "after the end event": clock1 - end["time"],
    }
    return {"wall": wall, "cpu": cpu, "train_s": end["time"] - start["time"], "trainer_runtime": runtime, "phases": phases}


def run_script(script: Path, steps: int, out: Path, env: dict) -> dict:
    t0, cpu0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, str(script)], env=env, cwd=out.parent, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=900)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"the exported script failed ({proc.returncode}):\n{proc.stdout[-3000:].decode(errors='replace')}")
    runtime = trainer_runtime(out)
    if runtime is None:
        raise SystemExit("the exported script logged no train_runtime")
    state = json.loads((out / "trainer_state.json").read_text())
    if state.get("global_step") != steps:
        raise SystemExit(f"the script ran {state.get('global_step')} steps, not {steps}")
    return {"wall": wall, "cpu": cpu, "train_s": runtime, "trainer_runtime": runtime}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="args.max_steps of every run (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="pairs (default 3)")
    parser.add_argument("--preset", default="presets/quickstart.toml")
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP_NUM_THREADS for both sides (default 1: on a shared machine, spinning compute "
                             "threads make the times depend on the other jobs more than on the runner)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to both sides, e.g. --set args.bf16=true (repeatable)")
    args = parser.parse_args()
    preset = str(Path(args.preset).resolve())
    sets = [item for kv in args.sets for item in ("--set", kv)]

    load = os.getloadavg()[0]
    a_runs, b_runs = [], []
    with tempfile.TemporaryDirectory(prefix="hftui-bench-runner-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ, HFTUI_HOME=str(tmp / "home"), OMP_NUM_THREADS=str(args.threads))
        marker = "/HFTUI-BENCH-OUTPUT-DIR"
        exported = subprocess.run([HFTUI, "export", preset, "--to", "python", *sets, "--set", f"args.max_steps={args.steps}",
                                   "--set", f"args.output_dir={marker}"], env=env, cwd=tmp, capture_output=True, text=True)
        if exported.returncode != 0 or marker not in exported.stdout:
            raise SystemExit(f"hftui export failed:\n{exported.stderr}")
        # the catalog cache and the page cache, as after any first use (not timed)
        subprocess.run([HFTUI, "validate", preset, *sets], env=env, cwd=tmp, capture_output=True)
        for i in range(args.repeat):
            load_now = os.getloadavg()[0]
            out_b = tmp / f"b-{i}"
            out_b.mkdir()
            script = out_b.parent / f"train-{i}.py"
            script.write_text(exported.stdout.replace(marker, str(out_b)))
            # A first in odd pairs, B first in even ones: whatever the first of two runs pays
            # (a cold GPU, clocks ramping up, caches) falls on both sides alike
            if i % 2 == 0:
                a_runs.append(run_hftui(preset, sets, args.steps, tmp / f"a-{i}", env))
                b_runs.append(run_script(script, args.steps, out_b, env))
            else:
                b_runs.append(run_script(script, args.steps, out_b, env))
                a_runs.append(run_hftui(preset, sets, args.steps, tmp / f"a-{i}", env))
            a_runs[-1]["load"] = load_now

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    def ratio(key, invert=False):
        values = [(b[key] / a[key]) if invert else (a[key] / b[key]) for a, b in zip(a_runs, b_runs)]
        return f"{statistics.median(values):.3f}  ({min(values):.3f}-{max(values):.3f})"

    n = args.steps
    extra = "".join(f" --set {kv}" for kv in args.sets)
    print(f"command: python benchmarks/runner_overhead.py --steps {n} --repeat {args.repeat} --preset {args.preset} "
          f"--threads {args.threads}{extra}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average before: {load:.1f}; {args.repeat} pairs, in turn A B, B A, A B ...")
    print("A = hftui run (foreground), B = the exported script; ratios are medians of the pair ratios (range)")
    print()
    print(f"{'measure':<52} {'A hftui':>10} {'B script':>10}   {'A/B':<22}")
    print("-" * 100)
    print(f"{'end-to-end wall time (s)':<52} {med(a_runs, 'wall'):>10.2f} {med(b_runs, 'wall'):>10.2f}   {ratio('wall')}")
    print(f"{'training time (s): A start->end events, B train_runtime':<52} {med(a_runs, 'train_s'):>10.2f} "
          f"{med(b_runs, 'train_s'):>10.2f}   {ratio('train_s')}")
    for r in a_runs + b_runs:
        r["sps"] = n / r["train_s"]
        if r["trainer_runtime"]:
            r["sps_trainer"] = n / r["trainer_runtime"]
    print(f"{'steps/s from those':<52} {med(a_runs, 'sps'):>10.2f} {med(b_runs, 'sps'):>10.2f}   {ratio('sps')}")
    if all(r.get("sps_trainer") for r in a_runs):
        print(f"{'steps/s from the Trainer train_runtime, both':<52} {med(a_runs, 'sps_trainer'):>10.2f} "
              f"{med(b_runs, 'sps_trainer'):>10.2f}   {ratio('sps_trainer')}")
    print(f"{'CPU time of the command and its reaped children (s)':<52} {med(a_runs, 'cpu'):>10.2f} "
          f"{med(b_runs, 'cpu'):>10.2f}   {ratio('cpu')}")
    print(f"{'wall time outside training (s)':<52} {statistics.median(r['wall'] - r['train_s'] for r in a_runs):>10.2f} "
          f"{statistics.median(r['wall'] - r['train_s'] for r in b_runs):>10.2f}")
    print()
    print("where A's wall time goes (median s): " + ", ".join(
        f"{k} {statistics.median(r['phases'][k] for r in a_runs):.2f}" for k in a_runs[0]["phases"]))
    print(f"B outside the Trainer's train_runtime (imports, data, model, saving, exit): "
          f"{statistics.median(r['wall'] - r['trainer_runtime'] for r in b_runs):.2f} s")
    print()
    print("pair by pair (wall s, training s, CPU s; load average when the pair started):")
    for i, (a, b) in enumerate(zip(a_runs, b_runs)):
        print(f"  pair {i + 1}: A {a['wall']:.1f} / {a['train_s']:.1f} / {a['cpu']:.1f}   "
              f"B {b['wall']:.1f} / {b['train_s']:.1f} / {b['cpu']:.1f}   load {a['load']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
