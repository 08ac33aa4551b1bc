"""User-facing errors: one line, naming the file and what is wrong.

Anything a user can get wrong (a rubric, a dump, a roster, a flag) raises
:class:`InputError`; the CLI prints ``str(err)`` and exits 2, never a
traceback.
"""
from __future__ import annotations


class InputError(Exception):
    def __init__(self, location: str, message: str, line: int | None = None):
        self.location = location
        self.message = " ".join(message.split())  # one line, whatever came in
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}:{self.line}" if self.line else self.location
        return f"{where}: {self.message}"
