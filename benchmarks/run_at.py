"""Run the ``fashion-review`` command line of another checkout (a ``git worktree`` at an older commit),
to time a change side by side with what came before it.

    python benchmarks/run_at.py WORKTREE [fashion-review arguments ...]

The editable install of this checkout puts a finder in front of ``sys.path`` (``PYTHONPATH`` does not
beat it): it is removed, and WORKTREE's package imported instead.  Prints which one ran and the wall time.
"""

from __future__ import annotations

import sys
import time

if __name__ == "__main__":
    src = sys.argv.pop(1)
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, src)
    import fashion_review
    from fashion_review.cli import main

    print(f"running {fashion_review.__file__}", file=sys.stderr)
    t = time.perf_counter()
    rc = main()
    print(f"wall {time.perf_counter() - t:.1f} s", file=sys.stderr)
    sys.exit(rc)
