"""A time limit on symbolic work.

The builders call `Deadline.check()` between steps. In the main thread a
SIGALRM timer also interrupts a single long sympy call, unless the caller has
a timer running. Elsewhere only the checks apply, so one slow sympy call can
overrun the limit.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from nntk_lang.errors import NoClosedForm


class _Expired(Exception):
    """Raised inside sympy by the alarm handler; converted to NoClosedForm."""


class Deadline:
    """A point in time after which symbolic work stops with NoClosedForm."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        """Raise NoClosedForm if the time limit has passed."""
        if time.monotonic() > self.end:
            raise self.error()

    def error(self) -> NoClosedForm:
        return NoClosedForm(
            f"symbolic work timed out after {self.seconds:g} s; raise the limit with "
            "--symbolic-timeout or use method=mc"
        )


@contextmanager
def time_limit(seconds: float) -> Iterator[Deadline]:
    """Run the body under a `Deadline` of `seconds`, with an alarm where possible."""
    deadline = Deadline(seconds)
    use_alarm = (
        threading.current_thread() is threading.main_thread()
        and hasattr(signal, "setitimer")
        and seconds > 0
        # Leave a timer that the caller set alone and rely on the checks.
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not use_alarm:
        try:
            yield deadline
        except _Expired:
            raise deadline.error() from None
        return

    def on_alarm(signum, frame):
        raise _Expired()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        # Inside the try: a very short limit can fire before the body starts.
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield deadline
    except _Expired:
        raise deadline.error() from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
