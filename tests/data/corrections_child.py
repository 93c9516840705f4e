"""Child process for the durability test: make corrections one by one, reporting each.

Usage: python corrections_child.py DB_PATH [N]

After each correction is committed it prints (and flushes) "BATCH_ID PRODUCT_ID NEW_VALUE",
so the parent knows which corrections the store has promised to keep.
"""

from __future__ import annotations

import sys

from fashion_review.data.corrections import CorrectionStore


def main() -> None:
    db_path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    with CorrectionStore(db_path) as store:
        for i in range(1, n + 1):
            value = f"type-{i}"
            batch_id = store.correct(i, "articleType", value, old_value="Tshirts", author="child")
            print(batch_id, i, value, flush=True)


if __name__ == "__main__":
    main()
