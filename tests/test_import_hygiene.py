"""The engine stays free of terminal UI, and start-up paths stay free of heavy libraries.

Each check runs in a fresh interpreter, because this test process has long since imported
everything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import PRESETS, REPO

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "deepspeed", "evaluate")


def _modules_after(code: str, env: dict | None = None) -> set[str]:
    """Top-level module names loaded after running `code` in a fresh interpreter."""
    script = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules} | {m for m in sys.modules if m.startswith('hftui.')})))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env or os.environ.copy(), cwd=REPO)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_startup_modules_import_no_heavy_library():
    loaded = _modules_after("import hftui.core.preset, hftui.core.checks, hftui.tui.cli")
    assert not loaded & set(HEAVY), f"heavy libraries imported at start-up: {sorted(loaded & set(HEAVY))}"
    assert "textual" not in loaded


def _package_modules(package_dir: Path, prefix: str) -> list[str]:
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir)
        if not (package_dir / rel.parent / "__init__.py").exists():
            continue  # data shipped as .py (metric scripts), not part of the package
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join([prefix, *parts]))
    return names


def test_every_core_module_is_free_of_ui_and_heavy_imports():
    modules = _package_modules(REPO / "core", "hftui.core")
    assert "hftui.core.checks" in modules and "hftui.core.preset" in modules
    loaded = _modules_after("import importlib\n" + "\n".join(f"importlib.import_module({m!r})" for m in modules))
    assert "textual" not in loaded
    assert not any(m.startswith("hftui.tui") for m in loaded), sorted(m for m in loaded if m.startswith("hftui.tui"))
    assert not loaded & set(HEAVY), f"core imports heavy libraries at module level: {sorted(loaded & set(HEAVY))}"


def test_every_tui_module_imports_no_heavy_library():
    modules = _package_modules(REPO / "tui", "hftui.tui")
    loaded = _modules_after("import importlib\n" + "\n".join(f"importlib.import_module({m!r})" for m in modules))
    assert not loaded & set(HEAVY), f"tui imports heavy libraries at module level: {sorted(loaded & set(HEAVY))}"


def test_core_source_never_names_textual_or_tui():
    offenders = []
    for path in (REPO / "core").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            s = line.strip()
            if not s.startswith(("import ", "from ")) or len(s.split()) < 2:
                continue
            target = s.split()[1]
            if target.split(".")[0] == "textual" or target.startswith("hftui.tui") or target.startswith("rich.live") or "import Live" in s:
                offenders.append(f"{path.relative_to(REPO)}:{number}: {s}")
    assert not offenders, offenders


@pytest.mark.slow
def test_validating_a_shipped_preset_imports_no_heavy_library(hftui_home):
    from hftui.core.options.catalog import warm_all

    warm_all()  # the cache exists, as it does after the wizard's first start
    preset = PRESETS / "quickstart.toml"
    if not preset.exists():
        preset = sorted(PRESETS.glob("*.toml"))[0]
    code = ("from hftui.core.checks import validate_file\n"
            f"p, problems = validate_file({str(preset)!r})\n"
            "assert p is not None and not [x for x in problems if x.severity == 'error'], problems\n")
    loaded = _modules_after(code)
    if loaded & set(HEAVY):  # say who imported it
        who = subprocess.run([sys.executable, "-c", WHO_IMPORTS.replace("HEAVY", repr(HEAVY)) + code],
                             capture_output=True, text=True, timeout=120, cwd=REPO).stderr[-3000:]
        raise AssertionError(f"validation imported {sorted(loaded & set(HEAVY))}:\n{who}")

    assert "textual" not in loaded


def test_import_linter_contracts_hold(tmp_path):
    """Run the project's import-linter contracts on a copy laid out the way it installs.

    grimp (under import-linter) only reads top-level packages from the file system, and the
    source folders map onto `hftui.core` / `hftui.tui` only through setuptools' package-dir, so
    the check runs on a copy with that layout.
    """
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    pkg = tmp_path / "hftui"
    shutil.copytree(REPO / "hftui", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("core", "tui"):
        shutil.copytree(REPO / folder, pkg / folder, ignore=shutil.ignore_patterns("__pycache__"))
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    lines = ["[importlinter]", "root_packages =", "    hftui", "include_external_packages = True", ""]
    for i, contract in enumerate(config.get("contracts", [])):
        lines.append(f"[importlinter:contract:{i}]")
        for key, value in contract.items():
            if isinstance(value, list):
                lines.append(f"{key} =")
                lines.extend(f"    {v}" for v in value)
            else:
                lines.append(f"{key} = {value}")
        lines.append("")
    assert any("textual" in str(c.get("forbidden_modules")) for c in config.get("contracts", [])), "the contract forbidding textual in core is gone"
    (tmp_path / ".importlinter").write_text("\n".join(lines), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([lint, "--no-cache", "--no-logo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower().split("contracts:")[-1] or "0 broken" in out.stdout

    # and the contract really bites: a core module importing textual breaks it
    (pkg / "core" / "problems.py").write_text((pkg / "core" / "problems.py").read_text(encoding="utf-8") + "\nimport textual  # noqa\n", encoding="utf-8")
    out = subprocess.run([lint, "--no-cache", "--no-logo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "hftui.core.problems -> textual" in out.stdout, out.stdout


# Prepended to a script: prints the stack of its first import of a heavy library.
WHO_IMPORTS = """
import builtins, sys, traceback
_real = builtins.__import__
def _hook(name, *a, **k):
    if name.split(".")[0] in HEAVY and name.split(".")[0] not in sys.modules:
        builtins.__import__ = _real
        sys.stderr.write("first heavy import: " + name + "\\n" + "".join(traceback.format_stack(limit=14)))
    return _real(name, *a, **k)
builtins.__import__ = _hook
"""
