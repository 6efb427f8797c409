"""A text box whose editing keys take effect in the order they were typed.

Textual's Input inserts a printable key as soon as it sees it, but a bound key (backspace,
ctrl+u, arrows, ...) first travels up through every parent to the app, which then runs the
Input's own binding. Keys that arrive together (fast typing, a slow link, a paste of keys) are
therefore reordered: ctrl+u then "24" clears the field after the digits went in. Running the
Input's own bindings where the key arrives keeps the order; keys the Input does not bind still
go up to the screen and the app as before.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class TypedInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable:
            return  # Input inserts it
        # The widget's own non-priority bindings are the first the app would try for a key
        # coming from the focused widget (priority ones ran before the key got here).
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                return
