"""The data report (`hftui data`, the wizard's panel) with real tokenization: the byte tokenizer
of a scratch model, figures checked against lengths computed here from the same tokenizer."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import pytest

from hftui.core import preset as preset_mod
from hftui.core.data_report import build_report
from hftui.core.data_report_text import NO_LOSS, render
from hftui.core.train.modeling import byte_tokenizer
from hftui.tui.commands import data as data_cmd
from tiny_presets import scratch_llama, toml_text

MAX_LENGTH = 64


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_preset(folder: Path, dataset: dict, trainer: str = "sft", task: str = "causal-lm", args: dict | None = None) -> Path:
    data = {
        "schema": 1,
        "name": "report",
        "model": {"task": task, "scratch": scratch_llama(kv_heads=2)},
        "dataset": {"path": "json", "data_files": "train.jsonl", "max_length": MAX_LENGTH, **dataset},
        "trainer": {"type": trainer},
        "args": {"output_dir": "out", "report_to": "none", "per_device_train_batch_size": 4, **(args or {})},
    }
    path = folder / "report.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return path


def nearest_rank(values: list[int], q: int) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    data_cmd.add_arguments(parser)
    code = data_cmd.main(parser.parse_args(list(argv)))
    out = capsys.readouterr()
    return code, out.out, out.err


def chat_rows(n: int = 24) -> list[dict]:
    """Chat rows of growing length: the longer ones pass max_length once the template is applied."""
    return [{"messages": [{"role": "user", "content": f"question {i}: " + "why " * (i % 12)},
                          {"role": "assistant", "content": "because " * (1 + i % 7)}]} for i in range(n)]


@pytest.fixture(scope="module")
def chat_preset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chat")
    write_jsonl(folder / "train.jsonl", chat_rows())
    return write_preset(folder, {"messages_column": "messages"})


def test_chat_preset_counts_truncation_and_percentiles_as_the_tokenizer_does(chat_preset, capsys):
    tok = byte_tokenizer()
    rows = chat_rows()
    lengths = [len(tok(tok.apply_chat_template(r["messages"], tokenize=False))["input_ids"]) for r in rows]
    over = [n for n in lengths if n > MAX_LENGTH]
    assert over and len(over) < len(rows)  # the data is built so that some rows are cut

    report = build_report(preset_mod.load(chat_preset))
    assert report["sample"] == {"rows": len(rows), "of": len(rows), "whole": True}
    assert [s["rows"] for s in report["splits"]] == [len(rows)]
    assert report["columns"][0]["name"] == "messages" and report["columns"][0]["key"] == "dataset.messages_column"
    stats = report["lengths"]
    assert {q: stats[f"p{q}"] for q in (50, 90, 99)} == {q: nearest_rank(lengths, q) for q in (50, 90, 99)}
    assert stats["max"] == max(lengths) and stats["total"] == sum(lengths)
    assert report["cut"]["rows_over"] == len(over)
    assert report["cut"]["tokens_lost"] == sum(n - MAX_LENGTH for n in over)
    assert sum(b["count"] for b in report["histogram"]) == len(rows)
    assert sum(b["count"] for b in report["histogram"] if b["lo"] > MAX_LENGTH) == len(over)
    # the sample is the first row with the chat template applied, every token trained
    first = tok.apply_chat_template(rows[0]["messages"], tokenize=False)
    assert "".join(text for text, _ in report["rendered"][0]["segments"]) == first

    code, out, err = run_cli(capsys, str(chat_preset))
    assert code == 0, err
    assert f"{len(over)} of {len(rows)} rows truncated, {sum(n - MAX_LENGTH for n in over):,} of {sum(lengths):,} tokens thrown away" in out
    assert f"p50 {nearest_rank(lengths, 50)} · p90 {nearest_rank(lengths, 90)} · p99 {nearest_rank(lengths, 99)} · max {max(lengths)}" in out
    assert "<|user|>" in out and "<|assistant|>" in out  # the template, not the raw messages


def test_a_sample_is_said_to_be_one_and_measures_its_rows(chat_preset, capsys):
    tok = byte_tokenizer()
    rows = chat_rows()[:5]
    lengths = [len(tok(tok.apply_chat_template(r["messages"], tokenize=False))["input_ids"]) for r in rows]
    code, out, err = run_cli(capsys, str(chat_preset), "--sample", "5", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sample"] == {"rows": 5, "of": 24, "whole": False}
    assert report["lengths"]["max"] == max(lengths) and report["lengths"]["count"] == 5
    assert "a sample: the first 5 of 24 train rows" in render(report)


def test_classification_preset_shows_label_balance(tmp_path, capsys):
    labels = ["spam"] * 7 + ["ham"] * 3
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"message number {i}", "label": label} for i, label in enumerate(labels)])
    path = write_preset(tmp_path, {"text_column": "text", "label_column": "label"}, trainer="trainer", task="sequence-classification")
    report = build_report(preset_mod.load(path))
    assert report["labels"] == [{"name": "ham", "id": 0, "count": 3}, {"name": "spam", "id": 1, "count": 7}]
    assert report["rendered"][1] == {"title": "label", "segments": [["spam", None]]}
    tok = byte_tokenizer()
    lengths = [len(tok(f"message number {i}")["input_ids"]) for i in range(len(labels))]
    assert report["lengths"]["max"] == max(lengths) and report["cut"]["rows_over"] == 0
    code, out, err = run_cli(capsys, str(path))
    assert code == 0, err
    assert "ham (id 0)" in out and "30.0%" in out and "70.0%" in out


def test_prompt_completion_preset_shows_the_completion_only_mask(tmp_path):
    rows = [{"prompt": f"capital of land {i}? ", "completion": f"city {i}"} for i in range(6)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    path = write_preset(tmp_path, {"prompt_column": "prompt", "completion_column": "completion"})
    report = build_report(preset_mod.load(path))
    segments = report["rendered"][0]["segments"]
    masked = "".join(text for text, trained in segments if trained is False)
    trained = "".join(text for text, trained in segments if trained)
    assert masked == rows[0]["prompt"]
    assert trained == rows[0]["completion"] + "</s>"  # TRL adds EOS to the completion
    text = render(report)
    assert f"{NO_LOSS[0]}{rows[0]['prompt']}{NO_LOSS[1]}{rows[0]['completion']}</s>" in text
    assert "completion-only loss" in text


def test_packing_counts_the_packed_sequences(tmp_path):
    rows = [{"text": "word " * (3 + i % 9)} for i in range(30)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    path = write_preset(tmp_path, {"text_column": "text"}, args={"packing": True, "packing_strategy": "wrapped"})
    report = build_report(preset_mod.load(path))
    tok = byte_tokenizer()
    total = sum(len(tok(r["text"] + "</s>")["input_ids"]) for r in rows)  # TRL ends each text with EOS
    assert report["lengths"]["total"] == total
    assert report["packing"]["sequences"] == math.ceil(total / MAX_LENGTH)  # wrapped: one stream cut in chunks
    assert report["cut"]["mode"] == "split" and report["cut"]["tokens_lost"] == 0
    assert f"{len(rows)} rows → {math.ceil(total / MAX_LENGTH)} packed sequences" in render(report)


def test_reward_pairs_over_max_length_are_counted_as_dropped(tmp_path):
    rows = [{"chosen": "good " * (2 + 4 * i), "rejected": "bad " * (2 + i)} for i in range(8)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    path = write_preset(tmp_path, {"chosen_column": "chosen", "rejected_column": "rejected"}, trainer="reward", task="sequence-classification")
    report = build_report(preset_mod.load(path))
    tok = byte_tokenizer()
    too_long = [r for r in rows if max(len(tok(r[k] + "</s>")["input_ids"]) for k in ("chosen", "rejected")) > MAX_LENGTH]
    assert too_long and report["cut"]["mode"] == "drop"
    assert report["cut"]["rows_over"] == report["cut"]["rows_dropped"] == len(too_long)
    assert f"{len(too_long)} of {len(rows)} rows are longer and dropped" in render(report)


def test_broken_preset_exits_2_with_the_problems(tmp_path, capsys):
    path = write_preset(tmp_path, {"text_column": "text"}, args={"learning_rat": 1e-3})
    code, out, err = run_cli(capsys, str(path))
    assert code == 2
    assert "data file not found" in err and "dataset.data_files" in err
    assert "args.learning_rat" in err and out == ""
    assert "Traceback" not in err


def test_data_problem_found_while_preparing_exits_2(tmp_path, capsys):
    write_jsonl(tmp_path / "train.jsonl", [{"text": "same", "label": "only"}] * 4)
    path = write_preset(tmp_path, {"text_column": "text", "label_column": "label"}, trainer="trainer", task="sequence-classification")
    code, out, err = run_cli(capsys, str(path))
    assert code == 2, out
    assert "dataset.label_column" in err and "at least two classes" in err


async def test_wizard_dataset_step_shows_the_report(chat_preset):
    from hftui.tui.app import HftuiApp
    from hftui.tui.widgets.data_report_panel import DataReportPanel

    app = HftuiApp(preset_mod.load(chat_preset), gpus=[])
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        app.screen.goto("dataset")
        panel = app.screen.query_one("#data-report", DataReportPanel)
        end = time.monotonic() + 120
        while panel.report is None and time.monotonic() < end:
            await pilot.pause(0.2)
        assert panel.report is not None, str(panel.query_one("#data-report-status").render())
        body = str(panel.query_one("#data-report-body").render())
        assert "rows truncated" in body and "p50" in body and "<|user|>" in body
        assert panel.report["cut"]["rows_over"] > 0


def _ended(pid: int, timeout: float = 5.0) -> bool:
    """The process is gone, or a zombie waiting to be reaped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


async def _child_of(pilot, panel):
    end = time.monotonic() + 30
    while panel._child is None and time.monotonic() < end:
        await pilot.pause(0.05)
    assert panel._child is not None and panel.report is None
    return panel._child


async def test_leaving_the_step_or_quitting_ends_the_report_at_once(chat_preset):
    from hftui.tui.app import HftuiApp
    from hftui.tui.widgets.data_report_panel import DataReportPanel

    app = HftuiApp(preset_mod.load(chat_preset), gpus=[])
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        app.screen.goto("dataset")
        panel = app.screen.query_one("#data-report", DataReportPanel)
        first = await _child_of(pilot, panel)
        app.screen.goto("trainer")  # its tokenizing would take the CPU from the next step
        end = time.monotonic() + 10
        while panel._child is not None and time.monotonic() < end:
            await pilot.pause(0.1)
        assert _ended(first.pid)
        app.screen.goto("dataset")  # back: the report starts again
        second = await _child_of(pilot, panel)
        assert second.pid != first.pid
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert _ended(second.pid)
