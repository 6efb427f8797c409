"""Shipped presets by name from any folder, and a mistyped preset path that says what exists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import hftui_cmd
from hftui.core.shipped import close_presets, locate, shipped_presets, shipped_presets_dir
from hftui.core.problems import PresetError
from hftui.tui.commands import wizard

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(hftui_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_presets_lists_every_shipped_file_with_what_it_trains(tmp_path):
    listed = json.loads(cli("presets", "--json", cwd=tmp_path).stdout)
    on_disk = sorted(p.stem for p in shipped_presets_dir().glob("*.toml"))
    assert [p["name"] for p in listed] == on_disk and "quickstart" in on_disk
    assert all(p["description"] for p in listed)
    table = cli("presets", cwd=tmp_path)
    assert table.returncode == 0 and "quickstart" in table.stdout and "hftui run NAME" in table.stdout


def test_a_bare_name_reaches_the_shipped_preset_and_a_path_still_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert locate("quickstart") == shipped_presets_dir() / "quickstart.toml"
    assert locate("quickstart.toml") == shipped_presets_dir() / "quickstart.toml"
    (tmp_path / "quickstart.toml").write_text("schema = 1\n")
    assert locate("quickstart.toml") == Path("quickstart.toml")  # the person's own file first


def test_a_mistyped_path_names_the_close_files_that_exist(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "my_preset.toml").write_text("schema = 1\n")
    monkeypatch.chdir(tmp_path)
    assert close_presets("configs/my_prest.toml") == ["configs/my_preset.toml"]
    with pytest.raises(PresetError) as err:
        locate("quickstrat")
    assert err.value.problems[0].message == "no such file" and "did you mean quickstart?" in err.value.problems[0].hint
    result = cli("validate", "configs/my_prest.toml", cwd=tmp_path)
    assert result.returncode == 2 and "did you mean configs/my_preset.toml?" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_the_wizard_refuses_a_typo_and_opens_a_new_file_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    result = cli("presets/quickstrat.toml", cwd=REPO)
    said = result.stderr + result.stdout
    assert result.returncode == 2 and "no such file" in said and "did you mean presets/quickstart.toml?" in said
    assert "hftui --new presets/quickstrat.toml" in said and "Traceback" not in said
    preset, fresh = wizard.open_preset("presets/quickstrat.toml", new=True)
    assert fresh and preset.path == (REPO / "presets" / "quickstrat.toml") and not preset.path.exists()
    preset, fresh = wizard.open_preset("quickstart")
    assert not fresh and preset.path == shipped_presets_dir() / "quickstart.toml"
    # nothing close: a new name is a new preset, as before
    preset, fresh = wizard.open_preset(str(tmp_path / "brand-new.toml"))
    assert fresh


def test_a_shipped_name_is_not_an_unknown_command(tmp_path):
    names = {p.name for p in shipped_presets()}
    for name in names:
        result = cli(name, "--version", cwd=tmp_path, timeout=60)
        assert result.returncode == 0 and "unknown command" not in result.stderr, (name, result.stderr)


@pytest.mark.slow
def test_run_quickstart_by_name_from_an_empty_folder_trains_there(tmp_path):
    result = cli("run", "quickstart", "--set", "args.max_steps=3", "--set", "args.eval_strategy=no", cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    written = [p for p in tmp_path.rglob("run.json")]
    assert written and all(tmp_path in p.parents for p in written)
    assert not any(p.name == ".hftui" for p in shipped_presets_dir().rglob(".hftui"))
