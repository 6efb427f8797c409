"""What a training run leaves in its output folder, told apart from everything else.

A run writes into `args.output_dir` beside whatever is already there, and the Trainer's
`save_total_limit` deletes the oldest `checkpoint-*` folders it finds, whoever wrote them. So
before a run starts, the folder must be new, empty, or hold only what training runs write
(nothing of the person's is overwritten), and a fresh run must not start among an earlier
run's checkpoints (they would be rotated away, and a later resume would continue the wrong
run). A resume continues from the newest complete checkpoint: the Trainer writes
`trainer_state.json` last, so a checkpoint without it (a full disk or a kill in the middle of
a save) is skipped, and said to be.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import re
import shutil
import struct
from pathlib import Path

from hftui.core.i18n import _
from hftui.core.run.folder import MERGED_SUBDIR, RUNS_SUBDIR

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
# Less free space than this on the output folder's disk, and a run could not even write its
# record and first checkpoint: refused before it starts.
MIN_FREE_BYTES = 32 << 20
# A folder this crowded is judged by its first entries (a home folder must not take seconds).
SCAN_LIMIT = 2000
STATE_PARSE_LIMIT = 16 << 20  # a trainer_state.json larger than this is judged by its last bytes
SHOWN = 4  # foreign files or checkpoints named in a message

# What save_pretrained (model, tokenizer, PEFT adapter), the Trainer and TRL write into output_dir.
_RUN_FILE_PATTERNS = (
    "*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "pytorch_model*.bin.index.json",
    "adapter_model.bin", "adapter_config.json", "config.json", "generation_config.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "vocab.txt", "merges.txt", "*.model", "chat_template.jinja", "chat_template.json",
    "preprocessor_config.json", "processor_config.json", "training_args.bin", TRAINER_STATE,
    "*_results.json", "README.md", "emissions.csv", "optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth",
)
# Folders a run writes there: its record, TensorBoard's `runs`, what loggers drop in the run's
# working folder (the output folder), DeepSpeed and FSDP state.
_RUN_FOLDERS = (RUNS_SUBDIR, MERGED_SUBDIR, "runs", "wandb", "mlruns", "global_step*", "pytorch_model_fsdp_*", "checkpoint-*")
# Left by the system, not by a person: never a reason to refuse a folder.
_NEUTRAL = (".DS_Store", "Thumbs.db", "desktop.ini", "lost+found", ".hftui-write-test-*")
# Files whose name a person's project may share: judged by their content.
_BY_CONTENT = ("README.md", "config.json")
# A checkpoint's weights: one of these (or a sharded index, or DeepSpeed/FSDP state folders).
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
            "adapter_model.safetensors", "adapter_model.bin")
_STATE_FOLDERS = ("global_step*", "pytorch_model_fsdp_*")
# Weights at the top of an output folder: a trained model a fresh run would overwrite.
_TRAINED = ("model.safetensors", "model-*.safetensors", "model.safetensors.index.json", "pytorch_model*.bin",
            "adapter_model.safetensors", "adapter_model.bin")


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a regular file (never a FIFO or a device: those would block or never end)."""
    try:
        if not path.is_file():
            return b""
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _written_by_a_run(entry: Path) -> bool:
    name = entry.name
    if entry.is_dir() and not entry.is_symlink():
        return _matches(name, _RUN_FOLDERS)
    if not _matches(name, _RUN_FILE_PATTERNS):
        return False
    if name == "README.md":  # a model card starts with YAML front matter naming its library
        head = _head(entry).decode("utf-8", "replace")
        return head.startswith("---") and ("library_name:" in head or "generated_from_trainer" in head)
    if name == "config.json":  # a model's configuration names its architecture
        head = _head(entry, 1 << 20)
        try:
            data = json.loads(head)
        except ValueError:
            return False
        return isinstance(data, dict) and any(k in data for k in ("model_type", "architectures", "transformers_version"))
    return True


def foreign_entries(folder: Path) -> list[str]:
    """Names in `folder` that no training run writes (at most SHOWN + 1 of them, sorted)."""
    found = []
    try:
        with_entries = sorted(_first_entries(folder), key=lambda p: p.name)
    except OSError:
        return []
    for entry in with_entries:
        if _matches(entry.name, _NEUTRAL) or _written_by_a_run(entry):
            continue
        found.append(entry.name + ("/" if entry.is_dir() else ""))
        if len(found) > SHOWN:
            break
    return found


def _first_entries(folder: Path) -> list[Path]:
    out = []
    for entry in folder.iterdir():
        out.append(entry)
        if len(out) >= SCAN_LIMIT:
            break
    return out


def checkpoints(folder: Path) -> list[Path]:
    """The `checkpoint-N` folders of an output folder, oldest (lowest step) first (all of them,
    however many: the newest must never be missed)."""
    try:
        with os.scandir(folder) as entries:
            found = [(int(m.group(1)), Path(e.path)) for e in entries
                     if (m := CHECKPOINT.match(e.name)) and e.is_dir()]
    except OSError:
        return []
    return [p for _, p in sorted(found)]


def trained_weights(folder: Path) -> list[str]:
    """Model weights saved at the top of an output folder (a finished run's model)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if _matches(e.name, _TRAINED) and e.is_file())
    except OSError:
        return []


def incomplete(checkpoint: Path) -> str | None:
    """Why a checkpoint folder cannot be resumed from (None when it is complete)."""
    state = checkpoint / TRAINER_STATE
    head = _head(state, STATE_PARSE_LIMIT + 1)
    if not head:
        return _("no {file}", file=TRAINER_STATE) if not state.exists() else _("{file} is empty", file=TRAINER_STATE)
    if not _whole_json_object(state, head):
        return _("{file} is cut short", file=TRAINER_STATE)
    try:
        names = [p.name for p in checkpoint.iterdir()]
    except OSError as exc:
        return _("cannot be read ({error})", error=exc.strerror or exc)
    if any(_matches(n, _STATE_FOLDERS) for n in names):
        return None  # DeepSpeed / FSDP sharded state: the Trainer checks it when it loads
    weights = [n for n in _WEIGHTS if n in names]
    if not weights:
        return _("no model weights")
    for name in weights:
        problem = _weights_problem(checkpoint / name)
        if problem:
            return problem
    return None


def _whole_json_object(path: Path, head: bytes) -> bool:
    """Is the file one whole JSON object? Parsed when small; a large one (a long log history)
    must at least end the way the Trainer writes it (indented): with the outer object's closing
    brace alone on the last line, where every inner one is indented."""
    if len(head) <= STATE_PARSE_LIMIT:
        try:
            return isinstance(json.loads(head), dict)
        except ValueError:
            return False
    try:
        with open(path, "rb") as fh:
            fh.seek(-64, os.SEEK_END)
            return head.lstrip().startswith(b"{") and fh.read().rstrip().endswith(b"\n}")
    except OSError:
        return False


def _weights_problem(path: Path) -> str | None:
    """A weights file that is empty, or a safetensors file shorter than its header says."""
    try:
        size = path.stat().st_size
    except OSError:
        return _("{file} cannot be read", file=path.name)
    if size == 0:
        return _("{file} is empty", file=path.name)
    if path.suffix != ".safetensors":
        return None
    head = _head(path, 8)
    if len(head) < 8:
        return _("{file} is cut short", file=path.name)
    (header_len,) = struct.unpack("<Q", head)
    if 8 + header_len > size:
        return _("{file} is cut short", file=path.name)
    try:
        with open(path, "rb") as fh:
            fh.seek(8)
            header = json.loads(fh.read(header_len))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        return _("{file} has a damaged header", file=path.name)
    if 8 + header_len + end > size:
        return _("{file} is cut short", file=path.name)
    return None


def last_complete_checkpoint(folder: Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest complete checkpoint of an output folder, and the newer ones skipped (with why)."""
    skipped = []
    for checkpoint in reversed(checkpoints(folder)):
        reason = incomplete(checkpoint)
        if reason is None:
            return checkpoint, skipped
        skipped.append((checkpoint, reason))
    return None, skipped


# -- what validate and start say --------------------------------------------------------------------
def foreign_problem(folder: Path) -> tuple[str, str] | None:
    """(message, fix) when `folder` holds files that are not a training run's outputs."""
    if not folder.is_dir():
        return None
    found = foreign_entries(folder)
    if not found:
        return None
    names = ", ".join(found[:SHOWN]) + (", ..." if len(found) > SHOWN else "")
    return (_("output_dir {folder} already holds files no training run wrote ({names}): a run would write "
              "its model, config.json and checkpoints among them and overwrite files of the same name",
              folder=folder, names=names),
            _("choose an empty or new folder, e.g. output_dir = \"runs/my-run\" (or --set args.output_dir=runs/my-run)"))


def earlier_run_problem(folder: Path) -> tuple[str, str] | None:
    """(message, fix) when `folder` holds an earlier run's checkpoints or trained model."""
    if not folder.is_dir():
        return None
    found = [p.name for p in checkpoints(folder)]
    weights = trained_weights(folder)
    if not found and not weights:
        return None
    names = ", ".join(found[-SHOWN:] if found else weights[:SHOWN])
    if len(found) > SHOWN:
        names = _("{names} and {count} more", names=names, count=len(found) - SHOWN)
    if found:
        message = _("output_dir {folder} already holds an earlier run's checkpoints ({names}): a new run there would "
                    "overwrite them, and its save_total_limit would delete the old checkpoints", folder=folder, names=names)
    else:
        message = _("output_dir {folder} already holds an earlier run's trained model ({names}): a new run there would "
                    "overwrite them, and its save_total_limit would delete the old checkpoints", folder=folder, names=names)
    return (message,
            _("to continue that run, resume it (hftui run PRESET --resume); to start over, choose a new folder "
              "(--set args.output_dir=runs/NEW-NAME); hftui never deletes a run's files for you"))


def space_problem(folder: Path) -> tuple[str, str] | None:
    """(message, fix) when the disk that would hold `folder` is (nearly) full."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return None
    free = usage.free
    if free >= MIN_FREE_BYTES or usage.total == 0:  # enough, or a pseudo file system (/proc) with no size
        return None
    return (_("the disk holding output_dir {folder} is full ({free} MiB free): the run could not save "
              "its record or a checkpoint", folder=folder, free=free >> 20), no_space_hint())


def no_space_hint() -> str:
    return _("free some space on that disk, or choose an output_dir on another disk (--set args.output_dir=PATH)")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether an exception (or one it came from) says the disk is full, however the library
    that wrote the file words it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc)
        if "No space left on device" in text or "StorageFull" in text or "Disk quota exceeded" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False
