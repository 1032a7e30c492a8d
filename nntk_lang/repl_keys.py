"""Key bindings of the REPL prompt: Enter runs complete input, else adds a line."""

from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from nntk_lang.repl_input import needs_more_input


def submits(text: str) -> bool:
    """Tell whether Enter after `text` runs it rather than starting a new line.

    Complete input runs. Unfinished input (an open bracket, a trailing operator)
    continues, unless its last line is empty: a second Enter runs it anyway, so
    the parser can report what is missing.
    """
    if not needs_more_input(text):
        return True
    return "\n" in text and not text.rsplit("\n", 1)[1].strip()


def prompt_key_bindings() -> KeyBindings:
    """Return the bindings: Enter as `submits` decides, Escape Enter always runs."""
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if submits(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @bindings.add("escape", "enter")
    def _force_submit(event: KeyPressEvent) -> None:
        event.current_buffer.validate_and_handle()

    return bindings
