"""Text that can be stored: no control characters.

A NUL cannot be stored in PostgreSQL's text at all (SQLite stores it, and it then
breaks exports and printed statements), and none of the other C0 control characters
(nor DEL) belongs in a name, an address, a code or a search. Tab, newline and
carriage return are ordinary text. Every edge that takes text (import files, form fields, API bodies
and query parameters) refuses them with this one wording."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return f"contains a control character (U+{ord(found.group()):04X}); remove it"
