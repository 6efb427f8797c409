"""A person's path: the real `hftui` in tmux on an 80x24 terminal, keys sent, the screen read back."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from hftui.core import preset as preset_mod

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (Debian: apt-get install -y tmux)"),
]

PRESET = """\
# driven through tmux
schema = 1
name = "tmuxed"

[model]
task = "causal-lm"

[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 2

[dataset]
path = "json"
data_files = "train.jsonl"

[trainer]
type = "sft"

[args]
output_dir = "out"
max_steps = 2  # keep this comment
"""



class Tmux:
    def __init__(self, socket: str, session: str) -> None:
        self.base = ["tmux", "-L", socket]
        self.session = session

    def __call__(self, *args: str, check: bool = True) -> str:
        out = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=20)
        if check and out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {out.stderr}")
        return out.stdout

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", self.session, *keys)

    def text(self, *chars: str) -> None:
        self("send-keys", "-t", self.session, "-l", "".join(chars))

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", self.session, check=False)

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < end:
            shown = self.screen()
            if needle in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared; the screen was:\n{shown}")

    def wait_line(self, pattern: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.screen(), re.MULTILINE):
                return True
            time.sleep(0.2)
        return False

    def wait_gone(self, timeout: float = 15.0) -> None:
        """The program in the session has exited (the session ends with it)."""
        end = time.monotonic() + timeout
        while self.alive() and time.monotonic() < end:
            time.sleep(0.2)
        assert not self.alive(), self.screen()

    def alive(self) -> bool:
        return subprocess.run([*self.base, "has-session", "-t", self.session], capture_output=True, timeout=10).returncode == 0


def test_wizard_in_tmux_80x24(tmp_path, hftui_home, warm_catalog):
    (tmp_path / "train.jsonl").write_text('{"text": "hello"}\n{"text": "world"}\n', encoding="utf-8")
    preset_path = tmp_path / "tmuxed.toml"
    preset_path.write_text(PRESET, encoding="utf-8")
    tmux = Tmux(f"hftui-test-{os.getpid()}", "wizard")
    env = {"HFTUI_HOME": str(hftui_home), "HFTUI_LANG": "en", "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join([sys.executable, "-m", "hftui", str(preset_path)])
    tmux("new-session", "-d", "-s", "wizard", "-x", "80", "-y", "24", "-c", str(tmp_path), command)
    try:
        first = tmux.wait_for("Next", timeout=60)
        assert "Model" in first and "Review" in first
        footer = first.rstrip("\n").splitlines()[-1]  # every key whole at 80 columns
        assert "^f Search" in footer and "^o Runs" in footer and "^q Quit" in footer, footer
        tmux.keys("C-n")
        tmux.wait_for("2/11")
        tmux.keys("C-n")
        tmux.wait_for("3/11")
        tmux.keys("C-b")
        tmux.wait_for("2/11")
        # search, jump to max_steps and type a new value
        tmux.keys("F3")
        tmux.wait_for("search every option")
        tmux.text("max_steps")
        time.sleep(0.5)
        tmux.keys("Enter")
        tmux.wait_for("4/11")
        tmux.wait_for("max_steps ★")
        # the jump focuses the field once it is laid out; keys go in one at a time, as typed
        for _ in range(3):
            time.sleep(1.0)
            tmux.keys("BSpace")
            time.sleep(0.3)
            tmux.text("7")
            if tmux.wait_line(r"█ 7\s*$", timeout=5):
                break
        tmux.wait_for("changed from the default")
        tmux.keys("C-s")
        end = time.monotonic() + 15
        while "max_steps = 7" not in preset_path.read_text(encoding="utf-8") and time.monotonic() < end:
            time.sleep(0.2)
        # an invalid value shows inline
        time.sleep(0.5)
        tmux.keys("BSpace")
        time.sleep(0.3)
        tmux.text("x")
        tmux.wait_for("whole number")
        tmux.keys("BSpace")
        time.sleep(0.3)
        tmux.text("8")
        time.sleep(0.5)
        # quitting with an unsaved edit asks first; "y" quits without saving
        tmux.keys("C-q")
        tmux.wait_for("Quit without saving")
        tmux.keys("y")
        tmux.wait_gone()
    finally:
        tmux("kill-server", check=False)
    text = preset_path.read_text(encoding="utf-8")
    assert "max_steps = 7  # keep this comment" in text
    assert text.startswith("# driven through tmux\n")
    assert preset_mod.load(preset_path).get("args.max_steps") == 7
    assert "started in" in (hftui_home / "logs" / "startup.log").read_text(encoding="utf-8")



def test_keys_sent_in_one_burst_keep_their_order(tmp_path, hftui_home, warm_catalog):
    """ctrl+u, then digits, then save, as fast as a terminal delivers them: exactly what was
    typed ends up in the field and in the file (the keys are not reordered, no echo of an older
    value overwrites them, and the save waits for them)."""
    (tmp_path / "train.jsonl").write_text('{"text": "hello"}\n{"text": "world"}\n', encoding="utf-8")
    preset_path = tmp_path / "tmuxed.toml"
    preset_path.write_text(PRESET.replace("max_steps = 2", "max_steps = 16"), encoding="utf-8")
    tmux = Tmux(f"hftui-burst-{os.getpid()}", "wizard")
    env = {"HFTUI_HOME": str(hftui_home), "HFTUI_LANG": "en", "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join([sys.executable, "-m", "hftui", str(preset_path)])
    tmux("new-session", "-d", "-s", "wizard", "-x", "100", "-y", "30", "-c", str(tmp_path), command)

    def jump(option: str) -> None:
        tmux.keys("F3")
        tmux.wait_for("search every option")
        tmux.text(option)
        time.sleep(0.5)
        tmux.keys("Enter")
        tmux.wait_for(f"{option} ★")
        time.sleep(1.0)  # the jump focuses the field once it is laid out

    try:
        tmux.wait_for("Next", timeout=60)
        jump("max_steps")
        tmux.keys("C-u", "2", "4")
        tmux.wait_for("changed from the default")
        jump("output_dir")
        tmux.keys("C-u")
        tmux.text("runs/typed-fast_2")
        tmux.keys("C-s")
        end = time.monotonic() + 20
        while "runs/typed-fast_2" not in preset_path.read_text(encoding="utf-8") and time.monotonic() < end:
            time.sleep(0.2)
        time.sleep(0.5)
        shown = tmux.screen()
        tmux.keys("C-q")
        end = time.monotonic() + 15
        while tmux.alive() and time.monotonic() < end:
            time.sleep(0.2)
        assert not tmux.alive(), tmux.screen()  # saved: nothing left to ask about
    finally:
        tmux("kill-server", check=False)
    assert "runs/typed-fast_2" in shown
    saved = preset_mod.load(preset_path)
    assert saved.get("args.max_steps") == 24
    assert saved.get("args.output_dir") == "runs/typed-fast_2"
    assert "max_steps = 24  # keep this comment" in preset_path.read_text(encoding="utf-8")


def test_attach_in_korean_in_tmux_80x24(tmp_path, hftui_home, monkeypatch):
    """`HFTUI_LANG=ko hftui attach RUN` in a real 80x24 terminal: the live pane in Korean, every
    footer key whole, no English sentence outside the training log."""
    from screen_text import english_sentences
    from test_snapshots_pane import _write_finished_run

    monkeypatch.chdir(tmp_path)
    run_dir = (tmp_path / _write_finished_run(tmp_path)).resolve()
    tmux = Tmux(f"hftui-test-{os.getpid()}", "attach")
    env = {"HFTUI_HOME": str(hftui_home), "HFTUI_LANG": "ko", "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(
        [sys.executable, "-m", "hftui", "attach", str(run_dir)])
    tmux("new-session", "-d", "-s", "attach", "-x", "80", "-y", "24", "-c", str(tmp_path), command)
    try:
        shown = tmux.wait_for("완료", timeout=60)
        time.sleep(1.0)
        shown = tmux.screen()
        assert "스텝 40/40" in shown, shown
        footer = shown.rstrip("\n").splitlines()[-1]
        assert "esc 뒤로" in footer and "^q 종료" in footer, footer
        log_lines = ("hftui: 140,096 of 140,096 parameters train (100.00%)", "training", "done")
        ours = "\n".join(line for line in shown.splitlines() if not any(text in line for text in log_lines))
        assert not english_sentences(ours), shown
        tmux.keys("C-q")
        tmux.wait_gone()
    finally:
        tmux("kill-server", check=False)
