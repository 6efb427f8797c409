"""The parent's side of `infer_child`: start the model process, send inputs, read its events.

The TUI uses it to try a model without importing torch itself. The child dies with its parent
(`liveness.die_with_parent_setup`) and ends when its stdin closes; `close()` makes sure of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from hftui.core.run import liveness

CHILD_MODULE = "hftui.core.train.infer_child"
CLOSE_WAIT_S = 3.0


class InferClient:
    def __init__(self, run_dir: str | Path, checkpoint: int | None = None, max_new_tokens: int | None = None):
        argv = [sys.executable, "-m", CHILD_MODULE, str(run_dir)]
        if checkpoint is not None:
            argv += ["--checkpoint", str(checkpoint)]
        if max_new_tokens is not None:
            argv += ["--max-new-tokens", str(max_new_tokens)]
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, encoding="utf-8", errors="replace", bufsize=1, env=env,
                                     preexec_fn=liveness.die_with_parent_setup(os.getpid()))

    def send(self, text, max_new_tokens: int | None = None) -> bool:
        """Ask for one answer; False when the child is gone."""
        request = {"input": text}
        if max_new_tokens is not None:
            request["max_new_tokens"] = max_new_tokens
        try:
            self.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):  # a closed pipe: the child ended
            return False

    def events(self) -> Iterator[dict]:
        """The child's events, one per line, until it ends (a line that is not an event is skipped)."""
        try:
            for line in self.proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and "event" in event:
                    yield event
        except (OSError, ValueError):
            return
        finally:
            self.proc.stdout.close()  # the child has ended (its end of the pipe closed)

    def close(self) -> None:
        """End the child: its input closes, then it is terminated, then killed. The reader of
        `events()` sees the end of the output and stops."""
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(CLOSE_WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
