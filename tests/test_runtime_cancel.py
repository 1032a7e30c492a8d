"""Cancelling a running request from another thread, as the REPL's Ctrl-C does."""

import threading
import time

import pytest

from nntk_lang.errors import Cancelled
from nntk_lang.runtime import Runtime, RunOptions

ATTENTION = """\
model u(x; t) = sin(t * x)
operator A = attention(gaussian(0.5), score=output, tau=1.0)
point t0 = {t: 0.3}
"""


@pytest.mark.parametrize(
    "request_text",
    [
        "eval grad(u, A, at=t0, x=1, samples=50000000)\n",
        "model net = mlp(in=1, width=64, depth=1, act=sign)\n"
        "point q = init(net, seed=0)\n"
        "eval grad(net, A, at=q, x=0.5, samples=50000000)\n",
    ],
    ids=["symbolic", "network"],
)
def test_attention_request_stops_on_cancel(request_text):
    runtime = Runtime(RunOptions(print_results=False, quiet=True))
    outcome = {}

    def work():
        try:
            runtime.execute_text(ATTENTION + request_text, "<test>")
        except Cancelled as error:
            outcome["error"] = error
        outcome["stopped"] = time.monotonic()

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(1.0)
    cancelled_at = time.monotonic()
    runtime.cancel()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert "error" in outcome
    assert outcome["stopped"] - cancelled_at < 2.0
