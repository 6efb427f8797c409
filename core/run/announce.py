"""What a run says before its worker exists: the first lines of its events and its log.

A preset that uploads with the person's own Hugging Face token must say so where the run is
watched (the headless display prints notice events, the live pane shows the log), and before
any model is loaded, so there is time to stop it. The start path writes these lines into the new
run folder before it starts the supervisor, so nothing else writes to the files at that moment.
"""

from __future__ import annotations

from hftui.core.checks.secrets import hub_upload_message
from hftui.core.run.events import EventWriter


def opening_notices(preset) -> list[str]:
    """The warnings a run of `preset` (the resolved preset it will train) opens with."""
    upload = hub_upload_message(preset)
    return [f"warning: {upload}"] if upload else []


def announce(record, preset) -> None:
    """Write the opening notices as `notice` events and as log lines of the run."""
    notices = opening_notices(preset)
    if not notices:
        return
    writer = EventWriter(record.events_path)
    try:
        for message in notices:
            writer.write("notice", 0, message=message)
    finally:
        writer.close()
    with open(record.log_path, "a", encoding="utf-8") as log:
        log.writelines(f"hftui: {message}\n" for message in notices)
