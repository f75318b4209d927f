"""A clock that starts on a chosen day and moves with real time: retries and Retry-After
waits happen for real, while dates stay where the test put them."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time


class TickingClock:
    def __init__(
        self, today: date = date(2026, 11, 16), at: clock_time = clock_time(10, 0)
    ) -> None:
        self._start = datetime.combine(today, at, tzinfo=UTC)
        self._t0 = time.monotonic()
        self._offset = timedelta()

    def now(self) -> datetime:
        return self._start + self._offset + timedelta(seconds=time.monotonic() - self._t0)

    def today(self) -> date:
        return self.now().date()

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)
