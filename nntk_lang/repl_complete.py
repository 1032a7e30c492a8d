"""Tab completion at the REPL prompt: keywords, builtins, names in scope, commands."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from prompt_toolkit.completion import (
    CompleteEvent,
    Completer,
    Completion,
    PathCompleter,
)
from prompt_toolkit.document import Document

from nntk_lang.highlight import CONSTANT_NAMES, KEYWORDS, LANGUAGE_FUNCTIONS
from nntk_lang.ir.primitives import BUILTINS
from nntk_lang.repl_help import COMMANDS, help_topics

_WORD_BEFORE_CURSOR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_COMMAND_WITH_PATH = re.compile(r"^\s*:(load|save)\s+")


class NntkCompleter(Completer):
    """Completes words of the language and the names that `names()` returns.

    Args:
        names: returns the names in scope and their descriptions, such as
            `Runtime.names`; called on every completion so new names show up.
    """

    def __init__(self, names: Callable[[], dict[str, str]]):
        self._names = names
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if text.lstrip().startswith(":"):
            yield from self._command_completions(text, complete_event)
            return
        match = _WORD_BEFORE_CURSOR.search(text)
        if match is None:
            return
        prefix = match.group()
        for word, meta in self._candidates():
            if word.startswith(prefix):
                yield Completion(word, -len(prefix), display_meta=meta)

    def _candidates(self) -> Iterable[tuple[str, str]]:
        yield from self._names().items()
        yield from ((keyword, "keyword") for keyword in KEYWORDS)
        yield from ((name, builtin.doc) for name, builtin in BUILTINS.items())
        yield from ((name, "language function") for name in LANGUAGE_FUNCTIONS)
        yield from ((name, "constant") for name in CONSTANT_NAMES)
        yield ("ans", "the last value")

    def _command_completions(
        self, text: str, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        path_match = _COMMAND_WITH_PATH.match(text)
        if path_match is not None:
            path_document = Document(text[path_match.end() :])
            yield from self._paths.get_completions(path_document, complete_event)
            return
        stripped = text.lstrip()
        if " " in stripped:
            command, _, topic = stripped.partition(" ")
            if command == ":help":
                topic = topic.lstrip()
                for name in help_topics():
                    if name.startswith(topic):
                        yield Completion(name, -len(topic))
            return
        for command, usage in COMMANDS.items():
            if command.startswith(stripped):
                yield Completion(command, -len(stripped), display_meta=usage)
