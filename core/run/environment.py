"""The environment record of a run: what it takes to reproduce it on another day or another box.

Written into the run folder (`folder.ENVIRONMENT_FILE`) when the run starts: the versions of
hftui, Python and the training libraries (read from their installed metadata, never by importing
them), torch's CUDA build, the GPUs and their driver (NVML), the data files' sizes and content
hashes (bounded in time, see `fingerprint`) or the Hub dataset's revision, the model's revision
when it comes from the Hub (from the local Hugging Face cache only: never the network), and the
seed. `env_facts` turns two records into the differences a person reads.
"""

from __future__ import annotations

import json
import platform
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

from hftui.core import gpu
from hftui.core.checks import hub
from hftui.core.fsutil import atomic_write_text
from hftui.core.options.catalog import cached_catalog
from hftui.core.options.sections import BUILDERS
from hftui.core.regular_file import Refused, read_capped
from hftui.core.run.fingerprint import Budget, fingerprint, fingerprint_all
from hftui.core.run.folder import ENVIRONMENT_FILE

FORMAT = 1
# The distributions whose versions decide how a run trains, in the order people think of them.
RECORDED_LIBRARIES = ("hftui", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "deepspeed")
MAX_RECORD_BYTES = 4 << 20
COLLECT_TIMEOUT_S = 10.0  # the longest a start waits for the record (hashing has its own, shorter budget)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TORCH_BUILD = re.compile(r"^(cuda|hip)\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)


def library_versions() -> dict[str, str | None]:
    """Each recorded library's installed version (None when it is not installed)."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in RECORDED_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def torch_build() -> dict[str, str | None]:
    """torch's CUDA (or ROCm) build, read from its `version.py` without importing torch."""
    import importlib.util

    found: dict[str, str | None] = {"cuda": None, "hip": None}
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return found
    if spec is None or not spec.submodule_search_locations:
        return found
    try:
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text(encoding="utf-8")
    except OSError:
        return found
    for kind, value in _TORCH_BUILD.findall(text):
        found[kind] = value
    return found


def gpus() -> tuple[list[dict], str | None]:
    """The visible GPUs (index, name, memory) and the NVIDIA driver's version, from NVML."""
    found = gpu.detect()
    devices = [{"index": g.index, "name": g.name, "memory_total": g.memory_total} for g in found]
    return devices, (found[0].driver or None) if found else None


def _hub_commit(kind: str, repo_id: str, revision: str | None) -> str | None:
    """The commit a Hub revision points at in the local cache (None when it is not cached)."""
    if revision and _COMMIT.match(revision):
        return revision
    ref = hub.hub_cache() / f"{kind}--{repo_id.replace('/', '--')}" / "refs" / (revision or "main")
    try:
        text = ref.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    return text if _COMMIT.match(text) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def model_record(preset, budget: Budget) -> dict[str, Any]:
    """Where the model comes from: a fresh one from a config, a local folder, or the Hub."""
    scratch = preset.get("model.scratch")
    if isinstance(scratch, dict):
        out: dict[str, Any] = {"source": "scratch", "architecture": scratch.get("architecture", "llama")}
        tokenizer = _text(scratch.get("tokenizer"))
        if tokenizer and tokenizer != "byte" and preset.resolve(tokenizer).is_dir():
            out["tokenizer"] = fingerprint(preset.resolve(tokenizer) / "tokenizer.json", budget)
        return out
    name = _text(preset.get("model.name_or_path"))
    if name is None:
        return {"source": "none"}
    local = preset.resolve(name)
    if local.is_dir():
        return {"source": "local", "path": str(local), "config": fingerprint(local / "config.json", budget)}
    revision = _text(preset.get("model.revision"))
    if not hub.is_hub_id(name):
        return {"source": "missing", "path": name}
    return {"source": "hub", "id": name, "revision": revision, "commit": _hub_commit("models", name, revision)}


def data_record(preset, budget: Budget) -> dict[str, Any]:
    """The data: its local files' sizes and hashes per split, or the Hub dataset and its revision."""
    path = _text(preset.get("dataset.path"))
    files = preset.get("dataset.data_files")
    if files is not None:
        return {"source": "files", "builder": path, "files": _split_files(preset, files, budget)}
    if path is None:
        return {"source": "none"}
    if path in BUILDERS:
        return {"source": "files", "builder": path, "files": {}}
    local = preset.resolve(path)
    if local.exists():
        return {"source": "local", "path": str(local), "files": {"": fingerprint_all([local], budget)}}
    if not hub.is_hub_id(path):
        return {"source": "missing", "path": path}
    revision = _text(preset.get("dataset.revision"))
    return {"source": "hub", "id": path, "name": _text(preset.get("dataset.name")), "revision": revision,
            "commit": _hub_commit("datasets", path, revision)}


def _split_files(preset, files: Any, budget: Budget) -> dict[str, list[dict]]:
    """data_files as load_dataset reads them: one path or a list (the train split), or a table
    of split -> path(s)."""
    table = files if isinstance(files, dict) else {"train": files}
    out: dict[str, list[dict]] = {}
    for split, value in table.items():
        paths = value if isinstance(value, list) else [value]
        out[str(split)] = fingerprint_all([preset.resolve(str(p)) for p in paths if isinstance(p, (str, Path))], budget)
    return out


def seed_record(preset) -> tuple[int | None, str]:
    """The seed the run trains with, and where it comes from (the preset, or the config class's
    default as the installed catalog knows it)."""
    seed = preset.get("args.seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed, "preset"
    catalog = cached_catalog(preset.trainer_type, preset.task)
    field = catalog.args.get("seed") if catalog else None
    if field is not None and isinstance(field.default, int):
        return field.default, "default"
    return None, "unknown"


def collect(preset, budget: Budget | None = None) -> dict[str, Any]:
    """The environment record of a run of `preset` here and now. Never raises: the record is a
    best effort beside a run that starts anyway, so a part that cannot be read (a broken
    install's metadata, an unreadable cache) says why in its place."""
    budget = budget or Budget()
    record: dict[str, Any] = {"format": FORMAT, "recorded": time.time(), "python": platform.python_version(),
                              "platform": platform.platform(terse=True)}
    parts: dict[str, Callable[[], Any]] = {
        "versions": library_versions,
        "torch_build": torch_build,
        "gpus": gpus,
        "model": lambda: model_record(preset, budget),
        "data": lambda: data_record(preset, budget),
        "seed": lambda: seed_record(preset),
    }
    for key, part in parts.items():
        try:
            value = part()
        except Exception as exc:  # see above: one part's failure is recorded, not raised
            record[key] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        if key == "gpus":
            record["gpus"], record["driver"] = value
        elif key == "seed":
            record["seed"], record["seed_from"] = value
        else:
            record[key] = value
    return record


def start_collecting(preset) -> Callable[[float], dict | None]:
    """Collect the record in a thread (so a run's start does not wait on it); the function
    returned waits for it, at most `timeout` seconds."""
    box: dict[str, dict] = {}
    thread = threading.Thread(target=lambda: box.update(env=collect(preset)), name="hftui-environment", daemon=True)
    thread.start()

    def result(timeout: float = COLLECT_TIMEOUT_S) -> dict | None:
        thread.join(timeout)
        return box.get("env")

    return result


def write(run_dir: str | Path, record: dict) -> Path:
    path = Path(run_dir) / ENVIRONMENT_FILE
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n", mode=0o600)
    return path


def read(run_dir: str | Path) -> dict | None:
    """A run's environment record; None when it has none (an older run) or it cannot be read."""
    try:
        raw, more = read_capped(Path(run_dir) / ENVIRONMENT_FILE, MAX_RECORD_BYTES)
        record = json.loads(raw) if not more else None
    except (Refused, OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
