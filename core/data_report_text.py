"""The data report as plain text: what `hftui data` prints and the wizard's panel shows.

One function of the report dict (`data_report.build_report`), so the terminal and the wizard
read the same. Text from the data passes through `printable` (line breaks of the sample are kept
as line breaks; every other control character is shown escaped).
"""

from __future__ import annotations

import unicodedata

from hftui.core.i18n import _
from hftui.core.printable import printable

BAR_WIDTH = 28
LABEL_WIDTH = 12
SAMPLE_CHARS = 1500
# Loss-free tokens in the sample are shown between these marks.
NO_LOSS = ("⟦", "⟧")


def _n(value: int | float) -> str:
    return f"{value:,}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _bar(count: int, most: int) -> str:
    if not count:
        return ""
    return "█" * max(1, round(BAR_WIDTH * count / most)) if most else ""


def _cells(text: str) -> int:
    """Terminal columns `text` takes: a wide character (Korean, CJK) takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _row(label: str, text: str) -> str:
    return label + " " * max(0, LABEL_WIDTH - _cells(label)) + text


def _more(text: str) -> str:
    return " " * LABEL_WIDTH + text


def render(report: dict) -> str:
    lines = [_("data report · {preset} ({trainer_type}, {task}) · tokenizer {tokenizer}", preset=printable(report["preset"]),
               trainer_type=report["trainer_type"], task=report["task"], tokenizer=printable(report["tokenizer"]))]
    lines.append(_row(_("rows"), " · ".join(f"{s['name']} {_n(s['rows'])}" + (f" ({printable(s['split'])})" if s["split"] != s["name"] else "") for s in report["splits"])))
    for i, col in enumerate(report["columns"]):
        used = f"  ← {col['key']}" if col["key"] else ""
        lines.append(_row(_("columns") if i == 0 else "", f"{printable(col['name'])}: {printable(col['type'])}{used}"))
    sample = report["sample"]
    if sample["whole"]:
        lines.append(_row(_("tokenized"), _("all {rows} train rows", rows=_n(sample["of"]))))
    else:
        lines.append(_row(_("tokenized"), _("a sample: the first {rows} of {of} train rows "
                                            "(figures below are for the sample; --sample N reads more)",
                                            rows=_n(sample["rows"]), of=_n(sample["of"]))))
    lines += _lengths(report)
    lines += _cut(report)
    lines += _padding(report)
    lines += _labels(report)
    for note in report["notes"]:
        lines.append(_row(_("note"), printable(note)))
    lines += _sample(report)
    return "\n".join(lines)


def _lengths(report: dict) -> list[str]:
    s = report["lengths"]
    figures = dict(p50=_n(s["p50"]), p90=_n(s["p90"]), p99=_n(s["p99"]), max=_n(s["max"]), mean=s["mean"])
    if report["sequences_per_row"] == 1:
        text = _("per sequence, uncut: p50 {p50} · p90 {p90} · p99 {p99} · max {max} · mean {mean}", **figures)
    else:
        text = _("per sequence ({n} a row), uncut: p50 {p50} · p90 {p90} · p99 {p99} · max {max} · mean {mean}",
                 n=report["sequences_per_row"], **figures)
    lines = [_row(_("tokens"), text)]
    bins = report["histogram"]
    most = max((b["count"] for b in bins), default=0)
    limit = report["max_length"] if report["cut"]["mode"] else None
    width = len(_n(bins[-1]["hi"])) if bins else 1
    for b in bins:
        span = f"{_n(b['lo']):>{width}}–{_n(b['hi']):<{width}}"
        over = " ✂" if limit and b["lo"] > limit else "  "
        lines.append(_more(f"{span}{over} {_bar(b['count'], most):<{BAR_WIDTH}} {_n(b['count'])}"))
    return lines


def _cut(report: dict) -> list[str]:
    cut, limit = report["cut"], report["max_length"]
    if not cut["mode"] or not limit:
        return [_row("max_length", _("none: no row is cut"))]
    rows, total = report["sample"]["rows"], cut["tokens"]
    over = cut["rows_over"]
    figures = dict(limit=_n(limit), over=_n(over), rows=_n(rows), lost=_n(cut["tokens_lost"]), total=_n(total),
                   share=_pct(cut["tokens_lost"], total))
    if cut["mode"] == "drop":
        text = _("{limit}: {over} of {rows} rows are longer and dropped ({lost} tokens, {share})", **figures)
    elif cut["mode"] == "split":
        text = _("{limit}: {over} of {rows} rows are longer; packing splits them, no token is lost", **figures)
    else:
        text = _("{limit}: {over} of {rows} rows truncated, {lost} of {total} tokens thrown away ({share})", **figures)
        if cut["rows_dropped"]:
            text += "; " + _("{dropped} rows dropped (nothing left to learn from)", dropped=_n(cut["rows_dropped"]))
    lines = [_row("max_length", text)]
    if report["packing"]:
        p = report["packing"]
        packed = dict(rows=_n(rows), sequences=_n(p["sequences"]), max_length=_n(p["max_length"]), fill=f"{100 * p['fill']:.0f}")
        if report["sample"]["whole"]:
            text = _("{rows} rows → {sequences} packed sequences of up to {max_length} tokens ({fill}% full)", **packed)
        else:
            text = _("{rows} rows → {sequences} packed sequences of up to {max_length} tokens ({fill}% full); about {all} for all rows",
                     all=_n(p["estimated_total"]), **packed)
        lines.append(_row(_("packing"), text))
    return lines


def _padding(report: dict) -> list[str]:
    pad = report["padding"]
    if pad.get("free"):
        text = _("none: padding-free batches of {batch}", batch=_n(pad["batch_size"]))
    else:
        text = _("batch size {batch}: {share}% of the batch tokens are padding ({pad} pad for {real} real)",
                 batch=_n(pad["batch_size"]), share=f"{100 * pad['fraction']:.1f}", pad=_n(pad["pad_tokens"]), real=_n(pad["real_tokens"]))
    lines = [_row(_("padding"), text)]
    if report["prompts_only"]:
        lines.append(_row(_("per epoch"), _("about {n} prompt tokens", n=_n(report["epoch_tokens"]))))
    else:
        lines.append(_row(_("per epoch"), _("about {n} tokens trained", n=_n(report["epoch_tokens"]))))
    return lines


def _labels(report: dict) -> list[str]:
    labels = report["labels"]
    if not labels:
        return []
    total = sum(label["count"] for label in labels)
    most = max(label["count"] for label in labels)
    names = [f"{printable(label['name'])} (id {label['id']})" for label in labels]
    width = max(len(name) for name in names)
    lines = []
    for i, (name, label) in enumerate(zip(names, labels)):
        text = f"{name:<{width}} {_n(label['count']):>7} {_pct(label['count'], total):>6} {_bar(label['count'], most)}"
        lines.append(_row(_("labels") if i == 0 else "", text))
    return lines


def sample_text(parts: list[dict]) -> list[str]:
    """The sample's parts, each titled, loss-free spans between the NO_LOSS marks."""
    lines: list[str] = []
    budget = SAMPLE_CHARS
    for part in parts:
        text = ""
        for piece, trained in part["segments"]:
            text += f"{NO_LOSS[0]}{piece}{NO_LOSS[1]}" if trained is False else piece
        shown = "\n".join(printable(line) for line in text.split("\n"))
        if len(shown) > budget:
            shown = shown[:budget] + _("… ({n} more characters)", n=_n(len(shown) - budget))
        budget = max(0, budget - len(shown))
        body = shown.split("\n")
        lines.append(_more(f"{part['title']}: {body[0]}"))
        lines += [_more("  " + line) for line in body[1:]]
    return lines


def _sample(report: dict) -> list[str]:
    parts = report["rendered"]
    if not parts:
        return []
    masked = any(trained is False for part in parts for _piece, trained in part["segments"])
    if masked:
        title = _("train row 1 as the trainer sees it; {open}…{close} carries no loss:", open=NO_LOSS[0], close=NO_LOSS[1])
    else:
        title = _("train row 1 as the trainer sees it:")
    return [_row(_("sample"), title)] + sample_text(parts)
