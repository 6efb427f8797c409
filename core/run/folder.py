"""The run folder's vocabulary: its file names, the statuses a run goes through, and the exit
codes that go with them. Every reader and writer of a run takes these names from here.
"""

from __future__ import annotations

from hftui.core.i18n import N_, _

# <args.output_dir>/RUNS_SUBDIR/<run id>/ holds one run's files.
RUNS_SUBDIR = ".hftui"
RUN_FILE = "run.json"  # the run record
PRESET_FILE = "preset.toml"  # the resolved preset the worker executes
LOG_FILE = "log.txt"  # stdout and stderr of every process of the run
EVENTS_FILE = "events.jsonl"  # what the run did, one JSON object a line
STOP_FILE = "stop"  # its presence asks the run to stop
DS_CONFIG_FILE = "ds_config.json"  # DeepSpeed runs only
ENVIRONMENT_FILE = "environment.json"  # what the run ran on: versions, GPUs, data hashes, seed
MERGED_SUBDIR = "merged"  # in the output folder: the LoRA adapter merged into its base ([peft] merge = true)
PREDICTIONS_FILE = "predictions.jsonl"  # `hftui predict` writes here unless --output says otherwise
LOCK_FILE = ".lock"  # held while run.json changes (in RUNS_SUBDIR: while a run starts)
INDEX_SUBDIR = "runs"  # HFTUI_HOME/runs/<run id>.json lists the runs of this machine

# A run's status, as run.json, the `end` event and every display name it.
STARTING, RUNNING, STOPPING = "starting", "running", "stopping"
COMPLETED, STOPPED, FAILED = "completed", "stopped", "failed"
ACTIVE_STATUSES = (STARTING, RUNNING, STOPPING)
FINAL_STATUSES = (COMPLETED, STOPPED, FAILED)
MISSING = "missing"  # listed in the index, but its folder is gone (never written to run.json)
# A status as a person reads it in a sentence: run.json and the events keep the English value,
# only what is shown is translated (`status_word`).
STATUS_WORDS = {
    STARTING: N_("starting"), RUNNING: N_("running"), STOPPING: N_("stopping"), COMPLETED: N_("completed"),
    STOPPED: N_("stopped"), FAILED: N_("failed"), MISSING: N_("missing"),
}
DELETED = "folder deleted"  # its folder is gone but its processes still run: still stoppable
BROKEN = "broken"  # its run.json cannot be read (listed, never in the way of other runs)

# Exit codes of the worker, the supervisor and `hftui run`.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2  # the preset (or the command line) is wrong: nothing ran
EXIT_STOPPED = 130
EXIT_CODES = {COMPLETED: EXIT_OK, STOPPED: EXIT_STOPPED, FAILED: EXIT_FAILED}


def exit_code_of(status: str | None) -> int:
    """The exit code for a final status (anything else counts as a failure)."""
    return EXIT_CODES.get(status or "", EXIT_FAILED)


def status_word(status: str) -> str:
    """A status as a sentence says it, in the reader's language (an unknown one as it is)."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status
