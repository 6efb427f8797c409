"""`hftui probe PRESET [--batch-sizes 1,2,4,8] [--steps N] [--apply]`: a measured fit.

Each batch size trains a few real steps in its own process, on this machine's first GPU (or the
CPU); the table shows its peak memory, tokens/s and, where the GPU's peak FLOP/s is known, MFU.
The recommendation is the largest batch that stays within the headroom; `--apply` writes it into
the preset as args.per_device_train_batch_size, keeping the file's comments.

Exit 0 with a recommendation, 1 when no batch size fits, 2 for an invalid preset or option.
"""

from __future__ import annotations

import sys

from hftui.core.i18n import _
from hftui.core.run.folder import EXIT_FAILED, EXIT_INVALID, EXIT_OK


def add_arguments(parser) -> None:
    from hftui.core.train.probe_plan import DEFAULT_BATCH_SIZES, DEFAULT_STEPS

    parser.add_argument("preset", help="the preset file (.toml)")
    parser.add_argument("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)), metavar="N,N,...",
                        help=_("per-device batch sizes to try, comma-separated (default: %(default)s)"))
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, metavar="N",
                        help=_("training steps per batch size; the first is warm-up and not timed (default: %(default)s)"))
    parser.add_argument("--apply", action="store_true",
                        help=_("write the recommended batch size into the preset (args.per_device_train_batch_size)"))
    parser.add_argument("--timeout", type=float, default=600, metavar="SECONDS",
                        help=_("the longest one batch size may take (default: %(default)s)"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=_("override a preset value for the probe only (repeatable; --apply writes only the batch size)"))


def _batch_sizes(text: str) -> list[int] | None:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return None
    return sizes if sizes and all(s > 0 for s in sizes) else None


def _right(text: str, width: int) -> str:
    """`text` right-aligned in `width` terminal cells (a Korean letter takes two)."""
    from rich.cells import cell_len

    return " " * max(0, width - cell_len(text)) + text


def _row_text(row) -> str:
    from hftui.tui.format import fmt_bytes

    peak = fmt_bytes(row.peak_bytes) if row.peak_bytes else "-"
    tps = f"{row.tokens_per_second:,.0f}" if row.tokens_per_second else "-"
    mfu = f"{row.mfu:.1%}" if row.mfu is not None else "-"
    note = row.status_text
    if row.status in ("oom", "failed") and row.result.get("error"):
        note += f": {row.result['error']}"
    elif row.status == "skipped":
        note = _("skipped: a smaller batch ran out of memory")
    return f"{row.batch:>6}  {peak:>12}  {tps:>11}  {mfu:>6}  {note}"


def main(args) -> int:
    from hftui.core.checks import validate_file
    from hftui.core.train import probe_plan
    from hftui.tui.errors import print_problems
    from hftui.tui.format import fmt_bytes, printable

    sizes = _batch_sizes(args.batch_sizes)
    if sizes is None:
        print(_("hftui probe: --batch-sizes {sizes} is not a list of positive whole numbers; write e.g. 1,2,4,8", sizes=printable(args.batch_sizes)),
              file=sys.stderr)
        return EXIT_INVALID
    if args.steps < 2:
        print(_("hftui probe: --steps must be 2 or more (the first step is warm-up); e.g. --steps 5"), file=sys.stderr)
        return EXIT_INVALID
    preset, problems = validate_file(args.preset, args.overrides)
    errors = [p for p in problems if p.is_error]
    if preset is None or errors:
        print_problems(errors or problems, args.preset)
        return EXIT_INVALID

    print(_("probing {preset}: {steps} steps per batch size, each in its own process", preset=printable(args.preset), steps=args.steps), flush=True)
    print(f"{_right(_('batch'), 6)}  {_right(_('peak memory'), 12)}  {_right(_('tokens/s'), 11)}  {'MFU':>6}  {_('status')}", flush=True)
    rows = probe_plan.probe(args.preset, args.overrides, sizes, args.steps, timeout=args.timeout,
                            on_row=lambda row: print(printable(_row_text(row)), flush=True))
    device = next((r.result.get("device") for r in rows if r.result.get("device")), None)
    capacity = next((r.result.get("capacity_bytes") for r in rows if r.result.get("capacity_bytes")), None)
    if device:
        print(printable(_("device: {device}, {capacity}; headroom: peaks up to {share:.0%} of it", device=device, capacity=fmt_bytes(capacity),
                          share=probe_plan.HEADROOM)))
    best = probe_plan.recommend(rows)
    if best is None:
        print(_("no batch size fits: lower dataset.max_length, turn on activation checkpointing, or train LoRA adapters"), file=sys.stderr)
        return EXIT_FAILED
    now = preset.get("args.per_device_train_batch_size")
    print(_("recommended: per_device_train_batch_size = {batch} (the preset has {now})", batch=best.batch, now=now) if now is not None
          else _("recommended: per_device_train_batch_size = {batch}", batch=best.batch))
    if args.apply:
        probe_plan.apply(args.preset, best.batch)
        print(printable(_("written to {path}", path=args.preset)))
    return EXIT_OK
