"""The data report as plain text: what `hftui data` prints and the wizard's panel shows.

One function of the report dict (`data_report.build_report`), so the terminal and the wizard
read the same. Text from the data passes through `printable` (line breaks of the sample are kept
as line breaks; every other control character is shown escaped).
"""

from __future__ import annotations

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


def _row(label: str, text: str) -> str:
    return f"{label:<{LABEL_WIDTH}}{text}"


def _more(text: str) -> str:
    return " " * LABEL_WIDTH + text


def render(report: dict) -> str:
    lines = [f"data report · {printable(report['preset'])} ({report['trainer_type']}, {report['task']}) · tokenizer {printable(report['tokenizer'])}"]
    lines.append(_row("rows", " · ".join(f"{s['name']} {_n(s['rows'])}" + (f" ({printable(s['split'])})" if s["split"] != s["name"] else "") for s in report["splits"])))
    for i, col in enumerate(report["columns"]):
        used = f"  ← {col['key']}" if col["key"] else ""
        lines.append(_row("columns" if i == 0 else "", f"{printable(col['name'])}: {printable(col['type'])}{used}"))
    sample = report["sample"]
    if sample["whole"]:
        lines.append(_row("tokenized", f"all {_n(sample['of'])} train rows"))
    else:
        lines.append(_row("tokenized", f"a sample: the first {_n(sample['rows'])} of {_n(sample['of'])} train rows "
                                       "(figures below are for the sample; --sample N reads more)"))
    lines += _lengths(report)
    lines += _cut(report)
    lines += _padding(report)
    lines += _labels(report)
    for note in report["notes"]:
        lines.append(_row("note", printable(note)))
    lines += _sample(report)
    return "\n".join(lines)


def _lengths(report: dict) -> list[str]:
    s = report["lengths"]
    per = "per sequence" if report["sequences_per_row"] == 1 else f"per sequence ({report['sequences_per_row']} a row)"
    lines = [_row("tokens", f"{per}, uncut: p50 {_n(s['p50'])} · p90 {_n(s['p90'])} · p99 {_n(s['p99'])} · max {_n(s['max'])} · mean {s['mean']}")]
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
        return [_row("max_length", "none: no row is cut")]
    rows, total = report["sample"]["rows"], cut["tokens"]
    over = cut["rows_over"]
    if cut["mode"] == "drop":
        text = f"{_n(limit)}: {_n(over)} of {_n(rows)} rows are longer and dropped ({_n(cut['tokens_lost'])} tokens, {_pct(cut['tokens_lost'], total)})"
    elif cut["mode"] == "split":
        text = f"{_n(limit)}: {_n(over)} of {_n(rows)} rows are longer; packing splits them, no token is lost"
    else:
        text = f"{_n(limit)}: {_n(over)} of {_n(rows)} rows truncated, {_n(cut['tokens_lost'])} of {_n(total)} tokens thrown away ({_pct(cut['tokens_lost'], total)})"
        if cut["rows_dropped"]:
            text += f"; {_n(cut['rows_dropped'])} rows dropped (nothing left to learn from)"
    lines = [_row("max_length", text)]
    if report["packing"]:
        p = report["packing"]
        estimate = "" if report["sample"]["whole"] else f"; about {_n(p['estimated_total'])} for all rows"
        lines.append(_row("packing", f"{_n(rows)} rows → {_n(p['sequences'])} packed sequences of up to {_n(p['max_length'])} tokens ({100 * p['fill']:.0f}% full){estimate}"))
    return lines


def _padding(report: dict) -> list[str]:
    pad = report["padding"]
    if pad.get("free"):
        text = f"none: padding-free batches of {_n(pad['batch_size'])}"
    else:
        text = (f"batch size {_n(pad['batch_size'])}: {100 * pad['fraction']:.1f}% of the batch tokens are padding "
                f"({_n(pad['pad_tokens'])} pad for {_n(pad['real_tokens'])} real)")
    lines = [_row("padding", text)]
    what = "prompt tokens" if report["prompts_only"] else "tokens trained"
    lines.append(_row("per epoch", f"about {_n(report['epoch_tokens'])} {what}"))
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
        lines.append(_row("labels" if i == 0 else "", text))
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
            shown = shown[:budget] + f"… ({_n(len(shown) - budget)} more characters)"
        budget = max(0, budget - len(shown))
        body = shown.split("\n")
        lines.append(_more(f"{part['title']}: {body[0]}"))
        lines += [_more("  " + line) for line in body[1:]]
    return lines


def _sample(report: dict) -> list[str]:
    parts = report["rendered"]
    if not parts:
        return []
    masked = any(trained is False for part in parts for _, trained in part["segments"])
    legend = f"; {NO_LOSS[0]}…{NO_LOSS[1]} carries no loss" if masked else ""
    return [_row("sample", f"train row 1 as the trainer sees it{legend}:")] + sample_text(parts)
