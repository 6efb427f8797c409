"""The model behind the Try pane: `python -m hftui.core.train.infer_child RUN_DIR [--checkpoint N]`.

The TUI never imports torch; it starts this process, which loads the run's model once and then
answers one request per line of its stdin (`{"input": TEXT, "max_new_tokens": N}`), speaking
line-delimited JSON on its stdout:

    {"event": "ready", "kind": ..., "model": "final model", "labels": [...]}
    {"event": "text", "text": "..."}       generated text, as it comes (generation only)
    {"event": "answer", "kind": ..., "output" | "label"+"probabilities" | "score"}
    {"event": "error", "message": "...", "hint": "..."}

Whatever the libraries print goes to stderr, so stdout carries nothing but these lines. The
process ends when its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from hftui.core.i18n import _
from hftui.core.problems import PresetError
from hftui.core.train.summary import error_summary

MAX_INPUT_CHARS = 100_000  # one request; a longer line is refused, not loaded into the model


class Channel:
    """The protocol's half of stdout: fd 1 itself is pointed at stderr for everyone else."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)

    def send(self, event: str, **fields) -> None:
        self._out.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
        self._out.flush()


def _error(channel: Channel, exc: BaseException) -> None:
    from hftui.core.train.infer import NoModel

    if isinstance(exc, NoModel):
        channel.send("error", message=exc.message, hint=exc.hint)
    elif isinstance(exc, PresetError):
        channel.send("error", message="; ".join(p.message for p in exc.problems),
                     hint="; ".join(p.hint for p in exc.problems if p.hint))
    else:
        channel.send("error", message=error_summary(exc), hint="")


def serve(run_dir: str, checkpoint: int | None, max_new_tokens: int, channel: Channel, lines) -> int:
    """Load the model, say so, then answer each request line until the input ends."""
    from hftui.core.train import answer, infer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = infer.load(run_dir, checkpoint)
    except Exception as exc:
        _error(channel, exc)
        return 1
    channel.send("ready", kind=loaded.kind, model=loaded.source.label, path=str(loaded.source.path), labels=loaded.labels)
    for line in lines:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            text = request["input"] if isinstance(request, dict) else None
            if not isinstance(text, (str, list)) or len(line) > MAX_INPUT_CHARS:
                raise ValueError(_('a request is one JSON object per line with an "input" text'))
            limit = int(request.get("max_new_tokens") or max_new_tokens)
            result = answer.answer(loaded, text, limit, on_text=lambda t: channel.send("text", text=t))
            channel.send("answer", **result)
        except Exception as exc:
            _error(channel, exc)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hftui.core.train.infer_child")
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", type=int, default=None)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from hftui.core.train.answer import DEFAULT_MAX_NEW_TOKENS

    channel = Channel()
    return serve(args.run_dir, args.checkpoint, args.max_new_tokens or DEFAULT_MAX_NEW_TOKENS, channel, sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
