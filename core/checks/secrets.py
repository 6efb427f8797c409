"""Secrets never belong in a preset (presets are shared and copied into run folders): keys named
like credentials, and values that look like a Hugging Face token or a W&B key, wherever they are.

A preset can also spend the person's own credentials: `args.push_to_hub` uploads with whatever
Hugging Face token this environment holds. A preset from someone else that sets it would publish
to a repo they chose without a word, so validate (and with it the wizard's review) warns, and a
run says so in its first lines (`hub_upload_message`, the one wording of both).

Its text can also aim at the person's terminal: escape sequences or bidi overrides in a name,
key or value could clear the screen, retitle the window or make text read as something else.
hftui shows them escaped; validate warns, since other tools print them as they are.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Iterable

from hftui.core.i18n import N_, _
from hftui.core.preset import Preset
from hftui.core.printable import printable, terminal_controls

from hftui.core.checks.report import Report
from hftui.core.checks.values import HF_TOKEN, WANDB_KEY

# Keys whose value is a credential, wherever they appear.
SECRET_KEYS = {
    "hub_token", "push_to_hub_token", "hf_token", "token", "use_auth_token", "auth_token",
    "access_token", "api_key", "wandb_api_key", "wandb_key", "comet_api_key", "password", "secret",
}
# args.hub_strategy: when the Trainer uploads.
_WHEN = {
    "end": N_("when training ends"),
    "every_save": N_("at every save"),
    "checkpoint": N_("at every save, the last checkpoint included"),
    "all_checkpoints": N_("at every save, every checkpoint included"),
}
HUB_UPLOAD_HINT = N_("set args.push_to_hub = false unless you mean to upload there with your token")
MAX_CONTROL_WARNINGS = 20  # one per value, up to this many: a hostile file is not a flood of lines
_ENV_HINT = N_("remove it and export it in the environment instead (HF_TOKEN for the Hub, WANDB_API_KEY for W&B)")


def hub_upload_message(preset: Preset) -> str | None:
    """What a run with `args.push_to_hub` uploads, where, and with which token; None when it does not."""
    if preset.get("args.push_to_hub") is not True:
        return None
    repo = preset.get("args.hub_model_id")
    when = _(_WHEN.get(str(preset.get("args.hub_strategy") or "every_save"), _WHEN["every_save"]))
    visibility = _("private") if preset.get("args.hub_private_repo") is True else _("public unless args.hub_private_repo = true")
    if isinstance(repo, str) and repo.strip():
        return _("args.push_to_hub = true: this run uploads the model to the Hugging Face Hub repo {repo} (args.hub_model_id) {when}, "
                 "with the Hugging Face token of this environment (HF_TOKEN, or the one `hf auth login` saved); a repo it creates is {visibility}",
                 repo=json.dumps(repo.strip()), when=when, visibility=visibility)
    folder = Path(str(preset.get("args.output_dir") or preset.output_dir())).name or "output"
    return _("args.push_to_hub = true: this run uploads the model to a Hugging Face Hub repo named {folder} (the output_dir's folder name) "
             "under your account {when}, with the Hugging Face token of this environment (HF_TOKEN, or the one `hf auth login` saved); "
             "a repo it creates is {visibility}", folder=json.dumps(folder), when=when, visibility=visibility)


def check_secrets(rep: Report, preset: Preset) -> None:
    upload = hub_upload_message(preset)
    if upload:
        rep.warning("args.push_to_hub", upload, _(HUB_UPLOAD_HINT))
    _check_terminal_controls(rep, preset)
    found = list(_walk(preset.data))
    dropped = {p.path for p in preset.notices}
    if dropped and preset.source_text:
        try:  # keys migration dropped (push_to_hub_token, ...) are still written in the file
            found += [(path, value) for path, value in _walk(tomllib.loads(preset.source_text)) if path in dropped]
        except tomllib.TOMLDecodeError:
            pass
    for path, value in found:
        leaf = path.rpartition(".")[2].lower()
        is_secret_key = leaf in SECRET_KEYS or leaf.endswith(("_api_key", "_password", "_secret"))
        if is_secret_key and isinstance(value, str) and value.strip():
            rep.error(path, _("{key} is a secret and must not be written in a preset (presets are shared and copied into run folders)", key=leaf), _(_ENV_HINT))
        elif isinstance(value, str) and (HF_TOKEN.search(value) or (WANDB_KEY.match(value.strip()) and not any(w in leaf for w in ("revision", "commit", "sha", "hash")))):
            rep.error(path, _("this value looks like an access token (Hugging Face or W&B key); a preset must not hold secrets"), _(_ENV_HINT))


def _check_terminal_controls(rep: Report, preset: Preset) -> None:
    """One warning per string value that holds terminal control characters (keys that do are
    unknown keys, already errors)."""
    said = 0
    for path, value in _walk(preset.data):
        found = terminal_controls(value) if isinstance(value, str) else ""
        if found and said < MAX_CONTROL_WARNINGS:
            said += 1
            rep.warning(path, _('holds terminal control characters ({found}): "{text}"; hftui shows them '
                                "escaped, other programs may let them clear the screen or disguise text", found=found, text=printable(value)[:80]),
                        _("remove them (a preset from someone else may use them to hide what it does)"))


def _walk(node: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, prefix)
    else:
        yield prefix, node
