"""How many examples a property test tries: all of them in `make test`, a quarter in `make unit`.

`make unit` sets PGX_CDS_QUICK_PROPERTIES=1 to stay under a minute; CI (`make test`) runs every
example. The examples are derandomized, so each run of either tries the same inputs.
"""

from __future__ import annotations

import os

QUICK = os.environ.get("PGX_CDS_QUICK_PROPERTIES") == "1"


def examples(full: int) -> int:
    """``full`` examples, or a quarter of them (at least 10) in the quick unit run."""
    return max(10, full // 4) if QUICK else full
