"""Run the REPL in a subprocess against the fake runtime of `repl_fakes`.

Used by the pipe and pseudo-terminal tests; with NNTK_REPL_REAL_RUNTIME=1 the
tests run `python -m nntk_lang.repl` instead.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

import repl_fakes

repl_fakes.install()

from nntk_lang.repl import main

sys.exit(main(sys.argv[1:]))
