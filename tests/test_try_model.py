"""Trying a trained run: `hftui try`, `eval`, `predict` and the Try pane, on two tiny runs trained
here (a LoRA SFT Llama and a fully trained classifier), checked against the saved models loaded
with transformers and peft directly, and against the runs' own eval events."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Button, Input

from hftui.core import preset as preset_mod
from hftui.core.run.events import read_all
from hftui.core.run.folder import COMPLETED, PRESET_FILE, RUNS_SUBDIR
from hftui.core.run.index import write_index
from hftui.core.run.record import RunRecord
from hftui.tui import cli
from tiny_presets import scratch_llama, toml_text

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon"]
ARGS = dict(report_to="none", max_steps=4, per_device_train_batch_size=4, per_device_eval_batch_size=8,
            learning_rate=1e-2, logging_steps=2, eval_strategy="steps", eval_steps=4, save_steps=2, seed=7)


def _rows(n: int, labelled: bool) -> str:
    lines = []
    for i in range(n):
        row = {"text": " ".join(WORDS[(i * 3 + j) % 5] for j in range(4 + i % 3))}
        if labelled:
            row["label"] = "good" if "beta" in row["text"].split()[:2] else "bad"
        lines.append(json.dumps(row))
    return "\n".join(lines) + "\n"


def _train(folder: Path, run_id: str, table: dict) -> RunRecord:
    """One run trained by the worker in this process, laid out as `hftui run` lays it out."""
    from hftui.core.train.worker import train

    out = folder / "out"
    run_dir = out / RUNS_SUBDIR / run_id
    run_dir.mkdir(parents=True)
    table["args"] = {"output_dir": str(out), **ARGS}
    (run_dir / PRESET_FILE).write_text(toml_text(table), encoding="utf-8")
    record = RunRecord(id=run_id, name=table["name"], preset_path=None, run_dir=run_dir, output_dir=str(out),
                       status=COMPLETED, created=time.time(), started=time.time(), ended=time.time(), exit_code=0)
    record.save()
    assert train(preset_mod.load(run_dir / PRESET_FILE), run_dir, run_id=run_id) == COMPLETED
    return record


@pytest.fixture(scope="module")
def runs(tmp_path_factory, catalog_home):
    """The two trained runs (shared by every test here)."""
    root = tmp_path_factory.mktemp("try-runs")
    home = root / "home"
    home.mkdir()
    (catalog_home / "catalog").mkdir(exist_ok=True)
    (home / "catalog").symlink_to(catalog_home / "catalog", target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HFTUI_HOME", str(home))
        data = {}
        for name, labelled in (("lm", False), ("cls", True)):
            (root / f"{name}-train.jsonl").write_text(_rows(24, labelled), encoding="utf-8")
            (root / f"{name}-eval.jsonl").write_text(_rows(8, labelled), encoding="utf-8")
            data[name] = {"train": str(root / f"{name}-train.jsonl"), "eval": str(root / f"{name}-eval.jsonl")}
        lora = _train(root / "lora", "20260101-000000-lora", {
            "schema": 1, "name": "tiny-lora",
            "model": {"task": "causal-lm", "scratch": scratch_llama(kv_heads=2)},
            "dataset": {"path": "json", "data_files": data["lm"], "max_length": 32},
            "trainer": {"type": "sft"},
            "peft": {"method": "lora", "r": 4, "lora_alpha": 8},
        })
        cls = _train(root / "cls", "20260101-000000-cls", {
            "schema": 1, "name": "tiny-cls",
            "model": {"task": "sequence-classification", "scratch": scratch_llama(kv_heads=2)},
            "dataset": {"path": "json", "data_files": data["cls"], "max_length": 32, "label_column": "label"},
            "trainer": {"type": "trainer", "metrics": ["accuracy"]},
        })
    return {"lora": lora, "cls": cls}


def hftui(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def final_eval(record: RunRecord) -> dict:
    return [e for e in read_all(record.events_path).events if e["event"] == "eval"][-1]


def reference_lora_answer(record: RunRecord, adapter: Path, prompt: str, max_new_tokens: int) -> str:
    """What the run's LoRA model says, built here with transformers and peft alone: the scratch
    base from its config and the run's seed, the adapter from the folder, greedy decoding."""
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, set_seed

    tok = AutoTokenizer.from_pretrained(record.output_dir)
    scratch = {k: v for k, v in scratch_llama(kv_heads=2).items() if k not in ("architecture", "tokenizer")}
    config = AutoConfig.for_model("llama", vocab_size=len(tok), pad_token_id=tok.pad_token_id,
                                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **scratch)
    set_seed(ARGS["seed"])
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_config(config), str(adapter)).eval()
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


@pytest.mark.slow
def test_try_generates_what_the_saved_lora_model_generates(runs, capsys):
    lora = runs["lora"]
    write_index(lora)  # by id, as `hftui runs` lists it
    code, out, err = hftui(capsys, "try", lora.id, "--prompt", "alpha beta", "--max-new-tokens", 12, "--json")
    assert code == 0, err
    final = json.loads(out)
    assert final["model"] == "final model" and final["kind"] == "generate"
    assert final["output"] == reference_lora_answer(lora, Path(lora.output_dir), "alpha beta", 12)
    # a checkpoint's adapter, applied on the fly; the run folder works as RUN too
    code, out, err = hftui(capsys, "try", lora.run_dir, "--checkpoint", 2, "--prompt", "gamma", "--max-new-tokens", 12, "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["model"] == "checkpoint-2"
    assert answer["output"] == reference_lora_answer(lora, Path(lora.output_dir) / "checkpoint-2", "gamma", 12)


@pytest.mark.slow
def test_eval_of_the_lora_run_gives_its_last_eval_figures(runs, capsys):
    """The base rebuilt from the seed is the one trained on: the loss matches the run's own."""
    lora = runs["lora"]
    code, out, err = hftui(capsys, "eval", lora.run_dir, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["model"] == "final model" and result["rows"] == 8
    assert result["metrics"]["eval_loss"] == pytest.approx(final_eval(lora)["eval_loss"], rel=1e-4)


@pytest.mark.slow
def test_classifier_try_eval_and_predict(runs, capsys, tmp_path):
    cls = runs["cls"]
    code, out, err = hftui(capsys, "try", cls.run_dir, "--prompt", "alpha beta gamma", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert set(answer["probabilities"]) == {"bad", "good"}
    assert math.isclose(sum(answer["probabilities"].values()), 1.0, rel_tol=1e-6)
    assert answer["label"] == max(answer["probabilities"], key=answer["probabilities"].get)
    code, out, _ = hftui(capsys, "try", cls.run_dir, "--prompt", "alpha beta gamma")
    assert code == 0 and "probability" in out and "good" in out and "bad" in out

    code, out, err = hftui(capsys, "eval", cls.run_dir, "--json")
    assert code == 0, err
    metrics, last = json.loads(out)["metrics"], final_eval(cls)
    assert metrics["eval_accuracy"] == pytest.approx(last["eval_accuracy"])
    assert metrics["eval_loss"] == pytest.approx(last["eval_loss"], rel=1e-4)
    code, out, err = hftui(capsys, "eval", cls.run_dir, "--split", "train")
    assert code == 0, err
    assert "accuracy" in out and "24 rows" in out
    code, _, err = hftui(capsys, "eval", cls.run_dir, "--split", "test")
    assert code == 2 and "no split 'test'" in err and "train, eval" in err

    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"text": "alpha beta"}\n{"text": "gamma delta", "id": 7}\n{"text": "epsilon"}\n', encoding="utf-8")
    code, out, err = hftui(capsys, "predict", cls.run_dir, "--input", inputs)
    assert code == 0, err
    written = cls.run_dir / "predictions.jsonl"
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    assert [r["input"] for r in lines] == [json.loads(line) for line in inputs.read_text().splitlines()]
    assert all(math.isclose(sum(r["probabilities"].values()), 1.0, rel_tol=1e-6) for r in lines)
    assert str(written) in out
    # a row without the input column: every such row named, nothing written
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "alpha"}\n{"words": "beta"}\n{"txt": "gamma"}\n', encoding="utf-8")
    target = tmp_path / "never.jsonl"
    code, _, err = hftui(capsys, "predict", cls.run_dir, "--input", bad, "--output", target)
    assert code == 2 and not target.exists()
    assert f"{bad}:2" in err and f"{bad}:3" in err and "'text'" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_run_without_the_model_asked_for_is_a_clear_message(runs, capsys, tmp_path):
    code, _, err = hftui(capsys, "try", runs["lora"].run_dir, "--checkpoint", 3, "--prompt", "hi")
    assert code == 2 and "no complete checkpoint-3" in err and "checkpoint-4, checkpoint-2" in err
    # a run that failed before saving anything
    out = tmp_path / "out"
    run_dir = out / RUNS_SUBDIR / "failed-run"
    run_dir.mkdir(parents=True)
    (run_dir / PRESET_FILE).write_text((runs["cls"].run_dir / PRESET_FILE).read_text().replace(runs["cls"].output_dir, str(out)))
    RunRecord(id="failed-run", name="x", preset_path=None, run_dir=run_dir, output_dir=str(out), status="failed").save()
    for command in (["try", run_dir, "--prompt", "hi"], ["eval", run_dir]):
        code, _, err = hftui(capsys, *command)
        assert code == 2 and "saved no model" in err and "Traceback" not in err
    code, _, err = hftui(capsys, "try", "no-such-run", "--prompt", "hi")
    assert code == 2 and "no run 'no-such-run'" in err


def test_a_stopped_run_offers_its_checkpoints(runs, tmp_path):
    from hftui.core.train.infer import NoModel, choose

    shutil.copytree(Path(runs["lora"].output_dir) / "checkpoint-2", tmp_path / "checkpoint-2")
    (tmp_path / "checkpoint-3").mkdir()  # cut short: no trainer_state.json, no weights
    with pytest.raises(NoModel) as caught:
        choose(tmp_path)
    assert "no final model" in caught.value.message and "checkpoints there: checkpoint-2" in caught.value.message
    assert "--checkpoint 2" in caught.value.hint
    assert choose(tmp_path, 2).adapter and choose(tmp_path, 2).path == tmp_path / "checkpoint-2"


class Host(App):
    def __init__(self, screen_factory):
        super().__init__()
        self._factory = screen_factory

    def on_mount(self) -> None:
        self.push_screen(self._factory())


async def wait_for(pilot, condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_try_pane_answers_in_a_child_process_and_esc_ends_it(runs):
    from hftui.core.train import answer, infer
    from hftui.tui.screens.try_model import TryModelScreen

    lora = runs["lora"]
    expected = answer.answer(infer.load(lora.run_dir), "alpha")["output"]  # the same model, here
    app = Host(lambda: TryModelScreen(lora.run_dir))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, TryModelScreen)
        await wait_for(pilot, lambda: screen.ready or screen.error, 120, "the model to load")
        assert screen.ready, screen.error
        assert "final model ready" in str(screen.query_one("#try-status").render())
        screen.query_one("#try-input", Input).value = "alpha"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.answers, 60, "an answer")
        assert screen.answers[0]["output"] == expected
        assert screen.streamed_parts > 0  # the text came in parts before the answer
        child = screen.client.proc
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert child.wait(10) is not None  # Esc ended the model's process
        assert not isinstance(app.screen, TryModelScreen)


async def test_run_actions_offer_try_only_when_asked():
    from hftui.tui.widgets.run_actions import RunActions

    pressed = []

    class Bar(App):
        def compose(self):
            yield RunActions()

        def on_run_actions_pressed(self, message: RunActions.Pressed) -> None:
            pressed.append(message.action)

    app = Bar()
    async with app.run_test(size=(100, 5)) as pilot:
        bar = app.query_one(RunActions)
        bar.show("/out", can_stop=False, can_resume=False)
        assert not app.query_one("#action-try", Button).display
        bar.show("/out", can_stop=False, can_resume=False, can_try=True)
        await pilot.pause()
        await pilot.click("#action-try")
        assert pressed == ["try"]


@pytest.mark.slow
async def test_a_finished_runs_pane_and_the_runs_screen_open_try(runs, tmp_path, monkeypatch):
    from hftui.core.run.index import write_index
    from hftui.tui.attach_app import AttachApp
    from hftui.tui.screens.runs import RunsScreen
    from hftui.tui.screens.monitor import MonitorScreen
    from hftui.tui.screens.try_model import TryModelScreen

    cls = runs["cls"]
    app = AttachApp(cls.run_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen._has_model, 30, "the finished run")
        await wait_for(pilot, lambda: app.screen.query_one("#action-try", Button).display, 10, "the Try button")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TryModelScreen), 10, "the Try pane")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), 10, "back to the pane")

    monkeypatch.setenv("HFTUI_HOME", str(tmp_path))
    write_index(cls)
    listing = AttachApp()
    async with listing.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(listing.screen, RunsScreen) and listing.screen.loaded, 30, "the runs list")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(listing.screen, TryModelScreen), 10, "the Try pane from the list")
        assert listing.screen.run_dir == cls.run_dir
