"""Tab completion on the prompt: nicknames of who is online, and command names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from chatproto.client.commands import COMMAND_NAMES


class ChatCompleter(Completer):
    """Completes the word before the cursor: a command name after a leading C{/},
    otherwise a nickname from C{names()} (compared ignoring case)."""

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self._names = names

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        """The completions of the word before the cursor (none for an empty word)."""
        before = document.text_before_cursor
        word = before.split(" ")[-1]
        if not word:
            return
        if word == before and word.startswith("/") and not word.startswith("//"):
            candidates: Iterable[str] = (f"/{name}" for name in COMMAND_NAMES)
        else:
            candidates = self._names()
        prefix = word.casefold()
        for candidate in candidates:
            if candidate.casefold().startswith(prefix) and candidate != word:
                yield Completion(candidate, start_position=-len(word))


def _complete_on_tab(event: KeyPressEvent) -> None:
    """Tab: one completion is applied at once (in the case it is spelt); several open a
    menu that further Tabs move through; none change nothing."""
    buffer = event.current_buffer
    if buffer.complete_state is not None:
        buffer.complete_next()
        return
    if buffer.completer is None:
        return
    asked = CompleteEvent(completion_requested=True)
    found = list(buffer.completer.get_completions(buffer.document, asked))
    if len(found) == 1:
        buffer.apply_completion(found[0])
    elif found:
        buffer.start_completion(insert_common_part=True)


def tab_key() -> KeyBindings:
    """The key binding for L{_complete_on_tab}."""
    bindings = KeyBindings()
    bindings.add("tab")(_complete_on_tab)
    return bindings
