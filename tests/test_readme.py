"""The README's two commands are the ones a new user and CI actually run."""

from __future__ import annotations

import re

from conftest import REPO


def _commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for block in blocks[:2] for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_install_and_test_commands():
    run_cmd, test_cmd = _commands()
    assert run_cmd.endswith("&& hftui"), run_cmd
    assert "pytest" in test_cmd and '".[test]"' in test_cmd


def test_ci_runs_the_readme_test_command():
    _, test_cmd = _commands()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmd in ci, "the last command of .ci/run must be the README's test command"
