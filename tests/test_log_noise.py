"""The live pane's log leaves out the libraries' deprecation chatter (log.txt keeps it) and says so."""

from __future__ import annotations

from textual.app import App

from hftui.core.run.log_noise import NoiseFilter
from hftui.tui.widgets.run_log import RunLog

# As the libraries print them into a run's log.txt.
NOISY = [
    "/venv/lib/python3.11/site-packages/transformers/modeling_utils.py:3312: FutureWarning: `is_gradient_checkpointing` is deprecated and will be removed in v6. Use `is_activation_checkpointing` instead.",
    "  warnings.warn(",
    "[2026-12-03 10:00:00,000] [INFO] [real_accelerator.py:254:get_accelerator] Setting ds_accelerator to cpu (auto detect)",
    "/venv/lib/python3.11/site-packages/trl/experimental/ppo/ppo_trainer.py:904: UserWarning: var(): degrees of freedom is <= 0.",
]
MEANT = [
    "[hftui] run 20261203-1 started: 1 process on the CPU",
    "{'loss': 2.31, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 0.1}",
    "ValueError: the dataset has no column 'text'",
    "  File \"/venv/lib/python3.11/site-packages/trl/trainer/sft_trainer.py\", line 10, in train",
    "RuntimeWarning is a word in this sentence, not a warning line",
]


def test_filter_keeps_what_people_need_across_batches():
    noise = NoiseFilter()
    kept = noise.filter(MEANT[:2] + NOISY[:1]) + noise.filter(NOISY[1:] + MEANT[2:])  # the warning's source line in the next batch
    assert kept == MEANT and noise.hidden == len(NOISY)


class LogApp(App):
    def compose(self):
        yield RunLog(id="run-log")


async def test_the_pane_shows_the_meant_lines_and_counts_the_rest():
    app = LogApp()
    async with app.run_test() as pilot:
        log = app.query_one(RunLog)
        log.add_lines(NOISY + MEANT)
        await pilot.pause()
        shown = [str(line) for line in log.lines]
        assert shown == MEANT
        assert "4 library warning lines left out (all in log.txt)" in str(log.border_subtitle)
        assert list(log.lines_seen) == NOISY + MEANT  # the failure excerpt still sees everything
