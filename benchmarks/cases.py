"""Seeded benchmark cases: `seeded_cases(n, seed)` is deterministic.

Every branch of the decision is drawn often: each of the 56 listed diseases
and the 3 uncovered names is equally likely (so about 5% of cases are
ineligible), the three booleans are fair coins, and submitted_on is uniform
over 2024-01-01 .. 2026-12-15 (weekends and public holidays included), so
that 7 working days later still falls inside the 2024-2026 calendar.
"""

from __future__ import annotations

import datetime as _dt
import random

try:  # imported as part of a package (benchmarks.cases) or run from benchmarks/
    from .decision import DISEASES, UNCOVERED
except ImportError:  # pragma: no cover
    from decision import DISEASES, UNCOVERED

FIRST_DAY = _dt.date(2024, 1, 1)
LAST_DAY = _dt.date(2026, 12, 15)
NAMES = DISEASES + UNCOVERED


def seeded_cases(n: int = 1000, seed: int = 20201105) -> list[dict]:
    """n cases as plain dicts (fresh objects on every call)."""
    rng = random.Random(seed)
    first, span = FIRST_DAY.toordinal(), LAST_DAY.toordinal() - FIRST_DAY.toordinal()
    cases = []
    for _ in range(n):
        cases.append(
            {
                "diseases": [rng.choice(NAMES)],
                "agent": rng.random() < 0.5,
                "first_application": rng.random() < 0.5,
                "hospitalized": rng.random() < 0.5,
                "submitted_on": _dt.date.fromordinal(first + rng.randint(0, span)).isoformat(),
            }
        )
    return cases
