"""Environment records as facts a person compares: one label and one short value each.

`facts(record)` flattens a record (see `environment`) into `{label: value}`; `differing` lines
up the facts of several records and keeps those that differ; `differences` does it for two
(the recorded run against here and now, before a replay). Labels and values are in the reader's
language, built the same way for every record compared.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hftui.core.i18n import _
from hftui.core.run.environment import RECORDED_LIBRARIES

NOT_RECORDED = "—"
HASH_SHOWN = 12  # hex digits of a content hash shown (the record keeps all of them)


def _size(n: Any) -> str:
    return _("{count} bytes", count=f"{n:,}") if isinstance(n, int) else _("size unknown")


def file_fact(entry: dict) -> str:
    """One data file as compared: its size and content hash (not its path: the same data in
    another folder is the same data; a changed path shows among the preset's keys)."""
    if not isinstance(entry, dict):
        return "?"
    if entry.get("error"):
        return str(entry["error"])
    digest = entry.get("sha256")
    if not digest:
        return _("{size}, not hashed", size=_size(entry.get("size")))
    values = {"size": _size(entry.get("size")), "digest": str(digest)[:HASH_SHOWN]}
    if entry.get("hashed") in (None, "whole file"):
        return "{size}, sha256 {digest}".format(**values)  # the same in every language
    return _("{size}, sha256 {digest} (sampled)", **values)


def _gpus(devices: Any) -> str:
    if not isinstance(devices, list) or not devices:
        return _("none")
    names = Counter(str(d.get("name", "?")) for d in devices if isinstance(d, dict))
    return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in names.items())


def _hub(entry: dict) -> str:
    name = str(entry.get("id"))
    if entry.get("name"):
        name += f" ({entry['name']})"
    commit = entry.get("commit")
    if commit:
        return f"{name} @ {str(commit)[:HASH_SHOWN]}"
    revision = entry.get("revision")
    return f"{name} @ {revision}" if revision else _("{name} (revision unknown: not in the local cache)", name=name)


def _model(entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict):
        return {}
    source = entry.get("source")
    if "error" in entry:
        return {_("model"): str(entry["error"])}
    if source == "scratch":
        out = {_("model"): _("fresh {architecture} from a config", architecture=entry.get("architecture"))}
        if isinstance(entry.get("tokenizer"), dict):
            out[_("model tokenizer")] = file_fact(entry["tokenizer"])
        return out
    if source == "local":
        return {_("model"): _("local folder, config.json {file}", file=file_fact(entry.get("config") or {}))}
    if source == "hub":
        return {_("model"): _hub(entry)}
    return {_("model"): _("{path} (not found)", path=entry.get("path") or source)}


def _data(entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict):
        return {}
    if "error" in entry:
        return {_("data"): str(entry["error"])}
    if entry.get("source") == "hub":
        return {_("data"): _hub(entry)}
    if entry.get("source") == "missing":
        return {_("data"): _("{path} (not found)", path=entry.get("path"))}
    out: dict[str, str] = {}
    for split, files in (entry.get("files") or {}).items():
        files = files if isinstance(files, list) else []
        for i, f in enumerate(files, 1):
            label = _("data {split}", split=split) if split else _("data")
            out[label + (f" {i}/{len(files)}" if len(files) > 1 else "")] = file_fact(f)
    return out


def facts(record: dict | None) -> dict[str, str]:
    """`{label: value}` of one environment record ({} for none), in a stable order."""
    if not isinstance(record, dict):
        return {}
    out: dict[str, str] = {"Python": str(record.get("python") or "?"), "OS": str(record.get("platform") or "?")}
    versions = record.get("versions") if isinstance(record.get("versions"), dict) else {}
    for name in RECORDED_LIBRARIES:
        if name in versions:
            out[name] = str(versions[name] or _("not installed"))
    build = record.get("torch_build") if isinstance(record.get("torch_build"), dict) else {}
    out["torch CUDA"] = str(build.get("cuda") or (_("none (ROCm build)") if build.get("hip") else _("none (CPU build)")))
    out[_("GPUs")] = _gpus(record.get("gpus"))
    out[_("GPU driver")] = str(record.get("driver") or _("none"))
    out.update(_model(record.get("model")))
    out.update(_data(record.get("data")))
    seed = record.get("seed")
    default = record.get("seed_from") == "default"
    out[_("seed")] = NOT_RECORDED if seed is None else (_("{seed} (default)", seed=seed) if default else f"{seed}")
    return out


def differing(records: list[dict | None]) -> list[tuple[str, list[str]]]:
    """The facts whose values are not the same for every record that exists: (label, values),
    `NOT_RECORDED` where a record lacks the fact or there is no record at all."""
    all_facts = [facts(r) for r in records]
    present = [f for r, f in zip(records, all_facts) if isinstance(r, dict)]
    labels: list[str] = []
    for f in present:
        labels.extend(k for k in f if k not in labels)
    out = []
    for label in labels:
        values = [f.get(label, NOT_RECORDED) if isinstance(r, dict) else NOT_RECORDED for r, f in zip(records, all_facts)]
        if len({v for r, v in zip(records, values) if isinstance(r, dict)}) > 1:
            out.append((label, values))
    return out


def differences(recorded: dict | None, now: dict | None) -> list[tuple[str, str, str]]:
    """(label, then, now) for each fact that changed between two records."""
    return [(label, values[0], values[1]) for label, values in differing([recorded, now])]
