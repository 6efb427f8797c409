"""`hftui predict RUN --input FILE [--output PATH]`: a run's model's answer to every row of a
file, written as JSON lines (by default into the run folder), atomically."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hftui.core.i18n import _

from hftui.tui.model_cli import add_model_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--input", required=True, metavar="FILE",
                        help=_("rows with the preset's input column (JSON lines, a JSON list, or CSV)"))
    parser.add_argument("--output", metavar="PATH", default=None,
                        help=_("where to write the JSON lines (default: predictions.jsonl in the run folder)"))
    parser.add_argument("--max-new-tokens", type=int, default=None, metavar="N", help=_("longest generated answer, in tokens (default 128)"))


def main(args: argparse.Namespace) -> int:
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
    from hftui.core.printable import printable
    from hftui.tui import model_cli

    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        print(_("hftui predict: error: --max-new-tokens must be 1 or more"), file=sys.stderr)
        return EXIT_INVALID
    record = model_cli.find(args.run)
    if record is None:
        return EXIT_INVALID
    from hftui.core.train import predict

    output = Path(args.output).expanduser() if args.output else predict.default_output(record.run_dir, args.checkpoint)
    if not output.parent.is_dir():
        print(_("hftui predict: error: no folder {folder} to write {name} in", folder=printable(output.parent), name=printable(output.name)),
              file=sys.stderr)
        print("    " + _("fix: create the folder, or name another --output path"), file=sys.stderr)
        return EXIT_INVALID
    model_cli.note_loading(record, args.checkpoint)
    from hftui.core.train import answer, infer

    try:
        rows = predict.read_rows(args.input)  # the input's mistakes before the model loads
        predict.row_inputs(infer.run_preset(record.run_dir), rows, args.input)
        tty = sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if tty:
                print("\r" + _("{done}/{total} rows", done=done, total=total), end="", file=sys.stderr, flush=True)

        with model_cli.model_work():
            loaded = infer.load(record.run_dir, args.checkpoint)
            count = predict.predict_rows(loaded, rows, args.input, output, args.max_new_tokens or answer.DEFAULT_MAX_NEW_TOKENS, progress)
    except Exception as exc:
        code = model_cli.report(exc, "predict")
        if code is None:
            raise
        return code
    if tty:
        print(file=sys.stderr)
    print(_("wrote {count} predictions ({model}) to {path}", count=count, model=printable(_(loaded.source.label)), path=printable(output)))
    return EXIT_OK
