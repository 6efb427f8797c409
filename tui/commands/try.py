"""`hftui try RUN --prompt TEXT`: one answer of a run's trained model, printed, then exit.

Language models answer greedily through the chat template when the tokenizer has one (the text
streams as it is generated); classifiers print each label's probability; reward models a score.
"""

from __future__ import annotations

import argparse
import json
import sys

from hftui.core.i18n import _
from hftui.tui.model_cli import add_model_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--prompt", required=True, metavar="TEXT", help=_("the input: a prompt, or the text to classify"))
    parser.add_argument("--max-new-tokens", type=int, default=None, metavar="N", help=_("longest answer, in tokens (default 128)"))
    parser.add_argument("--raw", action="store_true", help=_("give the prompt as it is, without the chat template"))
    parser.add_argument("--json", action="store_true", help=_("print the answer as one JSON object"))


def main(args: argparse.Namespace) -> int:
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
    from hftui.tui import model_cli

    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        print(_("hftui try: error: --max-new-tokens must be 1 or more"), file=sys.stderr)
        return EXIT_INVALID
    record = model_cli.find(args.run)
    if record is None:
        return EXIT_INVALID
    model_cli.note_loading(record, args.checkpoint)
    from hftui.core.train import answer, infer
    from hftui.core.printable import printable

    limit = args.max_new_tokens or answer.DEFAULT_MAX_NEW_TOKENS
    stdout = sys.stdout
    try:
        with model_cli.model_work():
            loaded = infer.load(record.run_dir, args.checkpoint)
            streamed = loaded.kind in (infer.GENERATE, infer.SEQ2SEQ) and not args.json
            on_text = (lambda t: print(printable(t), end="", file=stdout, flush=True)) if streamed else None
            result = answer.answer(loaded, args.prompt, limit, on_text=on_text, raw=args.raw)
    except Exception as exc:
        code = model_cli.report(exc, "try")
        if code is None:
            raise
        return code
    if args.json:
        print(json.dumps({"run": record.id, "model": loaded.source.label, **result}, ensure_ascii=False))
    elif streamed:
        print()
    else:
        _print_scores(result)
    return EXIT_OK


def _print_scores(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from hftui.tui.format import shown

    console = Console(highlight=False)
    if "score" in result:
        console.print(_("score  {score:.4f}", score=result["score"]))
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column(_("label"))
    table.add_column(_("probability"), justify="right")
    for label, p in sorted(result["probabilities"].items(), key=lambda kv: -kv[1]):
        table.add_row(shown(label), f"{p:.4f}")
    console.print(table)
