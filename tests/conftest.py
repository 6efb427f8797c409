"""Shared fixtures: keep every test offline, single-threaded and away from real user state."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRESETS = REPO / "presets"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("WANDB_MODE", "disabled")


# Snapshots marked options_snapshot show the options of the installed TrainingArguments, whose
# names move between transformers releases: they run on the release they were recorded with and
# are deselected on others (a skipped snapshot would count as unused and fail the session).
SNAPSHOT_TRANSFORMERS = "5.24"


def _transformers_release() -> str:
    from importlib.metadata import version

    return ".".join(version("transformers").split(".")[:2])


def pytest_report_header(config):
    if _transformers_release() != SNAPSHOT_TRANSFORMERS:
        return (f"transformers {_transformers_release()}: option-listing snapshots (recorded with "
                f"{SNAPSHOT_TRANSFORMERS}) are deselected")
    return None


@pytest.hookimpl(trylast=True)  # after the snapshot plugin has seen every collected test
def pytest_collection_modifyitems(config, items):
    if _transformers_release() == SNAPSHOT_TRANSFORMERS:
        return
    drop = [item for item in items if item.get_closest_marker("options_snapshot")]
    if drop:
        items[:] = [item for item in items if item not in drop]
        config.hook.pytest_deselected(items=drop)


@pytest.fixture(scope="session")
def catalog_home(tmp_path_factory) -> Path:
    """One state dir per test session, so the option catalog is built from the dataclasses once."""
    return tmp_path_factory.mktemp("hftui-home")


@pytest.fixture(scope="session")
def warm_catalog(catalog_home) -> Path:
    """Build the option catalog once, in a child process, as the wizard itself does."""
    code = "from hftui.core.options.catalog import warm_all; warm_all()"
    env = {**os.environ, "HFTUI_HOME": str(catalog_home)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    return catalog_home


@pytest.fixture(autouse=True)
def background_threads_end():
    """A wizard test may leave a daemon thread importing transformers (validation, the estimate:
    quitting never waits for them); the next test must not meet that half-done import."""
    yield
    from hftui.tui.widgets.dataset_preview import BACKGROUND_THREAD

    deadline = time.monotonic() + 60
    for thread in threading.enumerate():
        if thread.name == BACKGROUND_THREAD:
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture(autouse=True)
def hftui_home(catalog_home, tmp_path, monkeypatch) -> Path:
    """Each test gets its own run index; the catalog cache is shared (it only depends on versions)."""
    home = tmp_path / "hftui-home"
    home.mkdir()
    (home / "catalog").symlink_to(_catalog_dir(catalog_home), target_is_directory=True)
    monkeypatch.setenv("HFTUI_HOME", str(home))
    monkeypatch.setenv("HFTUI_LANG", "en")
    return home


def _catalog_dir(root: Path) -> Path:
    path = root / "catalog"
    path.mkdir(exist_ok=True)
    return path


def hftui_cmd(*args: str) -> list[str]:
    """The argv that runs the installed CLI with this interpreter."""
    return [sys.executable, "-m", "hftui", *args]
