"""Runs several snippet files in one process and one `__main__` namespace, in order: a post's session
(`continue` blocks) and hidden setup code. After each file it marks the boundary on stdout, so that
each block's own output can be told apart."""

import runpy
import sys

BOUNDARY = "\x1esnipcheck-boundary"

namespace = {}
for path in sys.argv[1:]:
    namespace = runpy.run_path(path, init_globals=namespace, run_name="__main__")
    sys.stdout.flush()
    print(BOUNDARY, flush=True)
