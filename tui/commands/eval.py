"""`hftui eval RUN [--checkpoint N] [--split NAME]`: evaluation only, with the preset's metrics,
through the same trainer and metric code as training; a table, or JSON with --json."""

from __future__ import annotations

import argparse
import json

from hftui.core.i18n import _
from hftui.tui.model_cli import add_model_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--split", metavar="NAME", default=None,
                        help=_("the dataset split to evaluate on (default: the preset's evaluation split)"))
    parser.add_argument("--json", action="store_true", help=_("print the metrics as one JSON object"))


def main(args: argparse.Namespace) -> int:
    from hftui.core.run.folder import EXIT_INVALID, EXIT_OK
    from hftui.tui import model_cli

    record = model_cli.find(args.run)
    if record is None:
        return EXIT_INVALID
    model_cli.note_loading(record, args.checkpoint)
    from hftui.core.train.evaluate_only import evaluate_run

    try:
        with model_cli.model_work():
            result = evaluate_run(record.run_dir, args.checkpoint, args.split)
    except Exception as exc:
        code = model_cli.report(exc, "eval")
        if code is None:
            raise
        return code
    if args.json:
        print(json.dumps({"run": record.id, "model": result.model, "split": result.split, "rows": result.rows,
                          "metrics": result.metrics}))
        return EXIT_OK
    _print_table(record, result)
    return EXIT_OK


def _print_table(record, result) -> None:
    from rich.console import Console
    from rich.table import Table

    from hftui.core.run.series import metric_label
    from hftui.core.run.state import _EVAL_BOOKKEEPING
    from hftui.tui.format import fmt_duration, fmt_short, shown
    from hftui.tui.headless import PRIMARY_METRICS

    def rank(key: str) -> tuple:
        name = metric_label(key)
        if name in PRIMARY_METRICS:
            return (0, PRIMARY_METRICS.index(name))
        return (1, ("loss", "perplexity").index(name)) if name in ("loss", "perplexity") else (2, 0)

    console = Console(highlight=False)
    console.print(_("run [b]{id}[/b]  {model}  split {split} ({rows} rows)", id=shown(record.id), model=shown(_(result.model)),
                    split=shown(result.split), rows=result.rows))
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column(_("metric"))
    table.add_column(_("value"), justify="right")
    figures = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key in sorted((k for k in figures if metric_label(k) not in _EVAL_BOOKKEEPING), key=rank):
        table.add_row(shown(metric_label(key)), fmt_short(figures[key]))
    console.print(table)
    if "eval_runtime" in figures:
        console.print(_("[dim]evaluated in {duration}[/dim]", duration=fmt_duration(figures["eval_runtime"])))
