"""UTC timestamps as every report and record writes them: second precision,
``Z`` suffix (``2026-11-27T08:00:00Z``), the form kubectl shows too."""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
