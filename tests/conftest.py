"""What every test starts from, whoever started pytest."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_inherited_terminal_size(monkeypatch):
    """No ``COLUMNS``/``LINES`` from the runner: the console report wraps at ``COLUMNS``, and
    a value from the developer's shell or from a pytest-xdist worker (which sees
    ``COLUMNS=80``) would make a wrapped line differ from one run to the next. A test
    about the width sets it itself."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
