#!/usr/bin/env bash
# The GPU check: one prepared script, under ten minutes on one recent NVIDIA GPU.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, hftui installed with a CUDA torch
#   OUT=/some/folder bash benchmarks/gpu_check.sh
#
# (a) `hftui doctor`;
# (b) the quickstart preset with --set args.bf16=true on CUDA, then checks its events.jsonl:
#     the run completed on cuda, gpu events are present, and every memory figure is sane
#     (0 < used <= total);
# (c) tokens/s, MFU and peak memory of SFT on a ~1B-parameter scratch Llama (hidden 2048, 20 layers,
#     16 heads, sequence 1024, byte tokenizer, generated text; benchmarks/llama1b_presets.py writes
#     them) three times, through `hftui run`, each beside the estimate `hftui validate --json` makes first:
#       defaults:    only what the run needs (output_dir, max_steps, max_length, logging_steps = 10,
#                    save_strategy = "no"); everything else is the installed SFTConfig's default
#       recommended: bf16, activation checkpointing off (1B fits in memory without it), fused
#                    AdamW, batch 16, TF32 matmuls, 2 data-loader workers
#       fastest:     recommended plus the speed options: packing, torch.compile on the training
#                    step, flash-attention 2 with padding-free when flash-attn is installed (else
#                    SDPA), Liger kernels when liger-kernel is installed
#     tokens/s counts the steps after step 10 (warm-up excluded; a log event every 10 steps, so
#     the host waits for the GPU only then), every row being exactly 1024 tokens;
#     MFU = tokens/s x (6 x params + 12 x layers x hidden x sequence) / the GPU's peak dense bf16
#     FLOP/s from hftui's GPU table (hftui.core.gpus); for an unknown GPU only tokens/s is printed.
#     Then `hftui probe` on the recommended preset (batch 8, 16, 32): its recommendation against
#     the batch the run used.
# (d) benchmarks/runner_overhead.py on the 1B Llama (recommended settings, batch 4: GPU-bound), two
#     pairs: `hftui run` against the script `hftui export --to python` writes, steps/s and wall
#     time as ratios.
#
# Everything (logs, events, the presets, summary.txt) goes to $OUT if set, else ./gpu-check-out.
# Without a CUDA GPU it stops at once with exit code 3 and says so.
# HFTUI_GPU_CHECK_CPU_SMOKE=1 runs the same plumbing on a CPU with a tiny model and a few steps,
# to check the script itself; its figures mean nothing.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$PWD/gpu-check-out}
SMOKE=${HFTUI_GPU_CHECK_CPU_SMOKE:-0}
mkdir -p "$OUT" || { echo "gpu_check: cannot create $OUT" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

say() { echo "$*" | tee -a "$SUMMARY"; }

# -- tools ----------------------------------------------------------------------------------------
if [ -n "${HFTUI:-}" ]; then :
elif command -v hftui >/dev/null 2>&1; then HFTUI=$(command -v hftui)
elif [ -x "$ROOT/.venv/bin/hftui" ]; then HFTUI="$ROOT/.venv/bin/hftui"
else echo "gpu_check: hftui is not installed (pip install -e . in $ROOT, after a CUDA build of torch)" >&2; exit 2
fi
PY=${PYTHON:-$(dirname "$HFTUI")/python}
[ -x "$PY" ] || PY=python3

# -- is there a GPU? --------------------------------------------------------------------------------
GPU_NAME=$("$PY" -c 'import torch
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>/dev/null)
if [ -z "$GPU_NAME" ] && [ "$SMOKE" != 1 ]; then
    msg="gpu_check: no CUDA GPU visible to $PY (torch.cuda.is_available() is false)"
    command -v nvidia-smi >/dev/null 2>&1 || msg="$msg; nvidia-smi not found either"
    echo "$msg. This check needs an NVIDIA GPU and a CUDA build of torch; nothing was run." | tee -a "$SUMMARY" >&2
    exit 3
fi
[ -z "$GPU_NAME" ] && GPU_NAME="none (CPU smoke run)"

export HFTUI_HOME="$OUT/hftui-home"
export TOKENIZERS_PARALLELISM=false
WORK="$OUT/work"
mkdir -p "$WORK"
FAILED=0
T_START=$(date +%s)

say "hftui GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname)"
say "command: bash benchmarks/gpu_check.sh   (OUT=$OUT)"
say "gpu: $GPU_NAME"
say "python: $("$PY" -c 'import sys, torch, transformers, trl; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "trl", trl.__version__)')"
say ""

# -- (a) doctor -----------------------------------------------------------------------------------
say "== (a) hftui doctor"
if timeout 120 "$HFTUI" doctor >"$OUT/doctor.txt" 2>&1; then
    say "ok (full output: doctor.txt)"
    sed 's/^/    /' "$OUT/doctor.txt" | head -40 >>"$SUMMARY"
else
    say "FAILED: hftui doctor exited $? (see doctor.txt)"; FAILED=1
fi
say ""

# -- (b) quickstart with bf16 on CUDA ---------------------------------------------------------------
say "== (b) quickstart, bf16 on CUDA"
QS_STEPS=300; QS_EXTRA=(--set args.bf16=true)
[ "$SMOKE" = 1 ] && { QS_STEPS=5; QS_EXTRA=(--set args.bf16=false); }
QS_OUT="$WORK/quickstart"
if timeout 240 "$HFTUI" run "$ROOT/presets/quickstart.toml" "${QS_EXTRA[@]}" --set "args.max_steps=$QS_STEPS" \
        --set "args.output_dir=$QS_OUT" >"$OUT/quickstart-run.txt" 2>&1; then
    say "run completed (console output: quickstart-run.txt)"
else
    say "FAILED: hftui run exited $? (see quickstart-run.txt)"; FAILED=1
fi
cp "$QS_OUT"/.hftui/*/events.jsonl "$OUT/quickstart-events.jsonl" 2>/dev/null
cp "$QS_OUT"/.hftui/*/log.txt "$OUT/quickstart-log.txt" 2>/dev/null
if "$PY" - "$OUT/quickstart-events.jsonl" "$SMOKE" 2>&1 <<'EOF' | tee -a "$SUMMARY"
import json, sys
path, smoke = sys.argv[1], sys.argv[2] == "1"
events = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
start = next((e for e in events if e["event"] == "start"), {})
end = next((e for e in events if e["event"] == "end"), {})
gpu = [e for e in events if e["event"] == "gpu"]
evals = [e for e in events if e["event"] == "eval"]
problems = []
print(f"device {start.get('device')}, status {end.get('status')}, {end.get('step')} steps, runtime {end.get('runtime')}")
if evals:
    last = evals[-1]
    print(f"last eval: step {last['step']}, eval_loss {last.get('eval_loss')}, accuracy {last.get('eval_mean_token_accuracy')}")
if end.get("status") != "completed":
    problems.append(f"the run did not complete: {end}")
if not smoke:
    if start.get("device") != "cuda" and not str(start.get("device", "")).startswith("cuda"):
        problems.append(f"the run did not train on cuda (start event device: {start.get('device')})")
    if not gpu:
        problems.append("no gpu events in events.jsonl (GPU samples need NVML: is nvidia-ml-py installed? see doctor.txt)")
devices = [d for e in gpu for d in e.get("devices", [])]
bad = [d for d in devices if not (isinstance(d.get("used"), (int, float)) and isinstance(d.get("total"), (int, float))
                                  and 0 < d["used"] <= d["total"])]
if devices:
    used = [d["used"] / 2**30 for d in devices]
    print(f"{len(gpu)} gpu events, {len(devices)} device samples; used {min(used):.2f}-{max(used):.2f} GiB of "
          f"{devices[0]['total'] / 2**30:.1f} GiB ({devices[0].get('name')}); util {max(d.get('util') or 0 for d in devices)}% at most")
if bad:
    problems.append(f"{len(bad)} device samples with memory figures not in 0 < used <= total, e.g. {bad[0]}")
for p in problems:
    print("FAILED:", p)
print("quickstart check:", "FAILED" if problems else "ok")
sys.exit(1 if problems else 0)
EOF
then :; else FAILED=1; fi
say ""

# -- (c) a ~1B scratch Llama: recommended settings against the defaults ------------------------------------
say "== (c) SFT of a ~1B scratch Llama: estimate, tokens/s, MFU, peak memory; then the probe"
L="$WORK/llama1b"
SMOKE_FLAG=(); [ "$SMOKE" = 1 ] && SMOKE_FLAG=(--smoke)
# the presets and data (benchmarks/llama1b_presets.py: the same presets tests/test_estimate_for.py checks)
VARS=$("$PY" "$ROOT/benchmarks/llama1b_presets.py" "$L" "${SMOKE_FLAG[@]}") || { say "FAILED: llama1b_presets.py"; exit 1; }
eval "$VARS"   # HIDDEN INTER LAYERS HEADS SEQ STEPS BATCH_REC LOG ROWS
WARM=$LOG
cp "$L/defaults.toml" "$L/recommended.toml" "$L/fastest.toml" "$OUT/"

for name in defaults recommended fastest; do
    # the estimate for this machine's GPUs, before the run
    timeout 300 "$HFTUI" validate "$L/$name.toml" --json >"$OUT/llama1b-$name-estimate.json" 2>"$OUT/llama1b-$name-estimate.err"
    elapsed=$(( $(date +%s) - T_START ))
    if [ "$SMOKE" != 1 ] && [ "$elapsed" -gt 460 ]; then
        say "$name: skipped, $elapsed s already spent (the check keeps under ten minutes)"; FAILED=1; continue
    fi
    if timeout 150 "$HFTUI" run "$L/$name.toml" >"$OUT/llama1b-$name-run.txt" 2>&1; then
        say "$name: run completed"
    else
        say "$name: FAILED, hftui run exited $? (see llama1b-$name-run.txt; an out-of-memory error shows there)"; FAILED=1
    fi
    cp "$L/out-$name"/.hftui/*/events.jsonl "$OUT/llama1b-$name-events.jsonl" 2>/dev/null
    cp "$L/out-$name"/.hftui/*/log.txt "$OUT/llama1b-$name-log.txt" 2>/dev/null
done

# the probe: which batch size fits the recommended settings, against the batch the run used
PROBE_SIZES="8,16,32"; PROBE_STEPS=4
[ "$SMOKE" = 1 ] && { PROBE_SIZES="2,4"; PROBE_STEPS=3; }
elapsed=$(( $(date +%s) - T_START ))
if [ "$SMOKE" != 1 ] && [ "$elapsed" -gt 480 ]; then
    say "probe: skipped, $elapsed s already spent"
elif timeout 240 "$HFTUI" probe "$L/recommended.toml" --batch-sizes "$PROBE_SIZES" --steps "$PROBE_STEPS" --timeout 120 \
        >"$OUT/llama1b-probe.txt" 2>&1; then
    say "probe: done (llama1b-probe.txt)"
else
    say "probe: exited $? (llama1b-probe.txt; exit 1 means no batch size fitted)"; FAILED=1
fi
sed 's/^/    /' "$OUT/llama1b-probe.txt" 2>/dev/null | tee -a "$SUMMARY"

"$PY" - "$OUT" "$GPU_NAME" "$SEQ" "$WARM" "$BATCH_REC" 2>&1 <<'EOF' | tee -a "$SUMMARY"
import json, os, re, sys
from hftui.core.gpus import peak_flops
from hftui.core.train.flops import mfu
out, gpu, seq, warm, batch_rec = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
peak = peak_flops(gpu)  # dense bf16 tensor FLOP/s from hftui's GPU table (None: unknown GPU, or the CPU)

def preset_value(path, key, default):
    m = re.search(rf"^{key} = (.+)$", open(path).read(), re.M)
    return m.group(1).strip('"') if m else default

def estimate(label):
    try:
        with open(os.path.join(out, f"llama1b-{label}-estimate.json")) as fh:
            return json.loads(fh.readline())["estimate"]
    except (OSError, ValueError, KeyError, TypeError):
        return None

rows = []
for label in ("defaults", "recommended", "fastest"):
    path = os.path.join(out, f"llama1b-{label}-events.jsonl")
    preset = os.path.join(out, f"{label}.toml")
    batch = int(preset_value(preset, "per_device_train_batch_size", 8))  # SFTConfig's default is 8
    est_gib = (estimate(label) or {}).get("per_gpu_gib")
    try:
        events = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    except OSError:
        rows.append((label, None, None, None, None, est_gib, "no events"))
        continue
    start = next((e for e in events if e["event"] == "start"), {})
    end = next((e for e in events if e["event"] == "end"), {})
    logs = [e for e in events if e["event"] == "log" and "loss" in e]
    params = start.get("total_params")
    after = [e for e in logs if e["step"] >= warm]
    mem = [d["used"] for e in events if e["event"] == "gpu" for d in e.get("devices", [])]
    peak_mem = max(mem) / 2**30 if mem else None
    if len(after) < 2 or end.get("status") != "completed":
        rows.append((label, params, None, None, peak_mem, est_gib, f"status {end.get('status')}: {end.get('error')}"))
        continue
    steps = after[-1]["step"] - after[0]["step"]
    seconds = after[-1]["time"] - after[0]["time"]
    tps = steps * batch * seq / seconds
    layers, hidden = int(preset_value(preset, "num_hidden_layers", 0)), int(preset_value(preset, "hidden_size", 0))
    share = mfu(tps, params, layers, hidden, seq, peak) if params else None
    rows.append((label, params, tps, share, peak_mem, est_gib, f"batch {batch}, steps {after[0]['step']}-{after[-1]['step']}, {steps / seconds:.2f} steps/s"))

print(f"gpu {gpu}; peak dense bf16 {peak:.3g} FLOP/s" if peak else f"gpu {gpu}; peak FLOP/s unknown here: tokens/s only")
print(f"sequence {seq} tokens per row; tokens/s from the log events (one every {warm} steps) after step {warm};"
      " MFU = tokens/s x (6 x params + 12 x layers x hidden x sequence) / peak")
print(f"{'settings':<12} {'params':>14} {'tokens/s':>11} {'MFU':>7} {'peak GPU mem':>13} {'estimate':>10}  note")
for label, params, tps, share, mem, est_gib, note in rows:
    print(f"{label:<12} {params or 0:>14,} {(f'{tps:,.0f}' if tps else '-'):>11} {(f'{share:.1%}' if share else '-'):>7} "
          f"{(f'{mem:.1f} GiB' if mem else '-'):>13} {(f'{est_gib:.2f} GiB' if est_gib is not None else '-'):>10}  {note}")
    if mem and est_gib:
        print(f"{'':<12} estimate / measured peak (NVML, sampled every 10 s): {est_gib / mem:.2f}")
for row in rows[1:]:
    if rows[0][2] and row[2]:
        print(f"{row[0]} / defaults, tokens/s: {row[2] / rows[0][2]:.2f}x")
try:
    found = re.search(r"recommended: per_device_train_batch_size = (\d+)", open(os.path.join(out, "llama1b-probe.txt")).read())
    print(f"probe recommends batch {found.group(1) if found else 'none'}; the recommended run used batch {batch_rec}")
except OSError:
    print("probe: no output")
EOF
say ""

# -- (d) runner overhead on the GPU: hftui run against the exported script --------------------------
# A GPU-bound model (the 1B Llama with the recommended settings, batch 4): per-step costs of the
# runner show against the GPU's own step time, not against Python's.
say "== (d) runner overhead on the GPU: hftui run against the exported script (1B Llama, recommended, batch 4)"
elapsed=$(( $(date +%s) - T_START ))
RO_PRESET="$L/recommended.toml"; RO_STEPS=40; RO_SETS=(--set args.per_device_train_batch_size=4 --set args.logging_steps=10)
[ "$SMOKE" = 1 ] && { RO_STEPS=5; RO_SETS=(--set args.logging_steps=1); }
if [ "$SMOKE" != 1 ] && [ "$elapsed" -gt 470 ]; then
    say "skipped: $elapsed s already spent (the check keeps under ten minutes)"
elif (cd "$WORK" && HFTUI="$HFTUI" timeout 240 "$PY" "$ROOT/benchmarks/runner_overhead.py" --steps "$RO_STEPS" --repeat 2 \
        --preset "$RO_PRESET" "${RO_SETS[@]}") >"$OUT/runner-overhead.txt" 2>&1; then
    sed -n '/^measure/,$p' "$OUT/runner-overhead.txt" | tee -a "$SUMMARY"
else
    say "FAILED: runner_overhead.py exited $? (see runner-overhead.txt)"; FAILED=1
fi
say ""
say "total time: $(( $(date +%s) - T_START )) s; result: $([ $FAILED = 0 ] && echo ok || echo 'FAILED (see above)')"
say "everything is in $OUT (summary.txt, doctor.txt, *-run.txt, *-events.jsonl, *-log.txt, runner-overhead.txt, the presets)"
exit $FAILED
