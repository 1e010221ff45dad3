"""The count behind every fault test and bench_faults: what was sent against what the
database holds (pure, table-tested)."""

from __future__ import annotations

import pytest
from faultkit import tally


@pytest.mark.parametrize(
    ("sent", "stored", "claimed", "lost", "duplicated", "unexpected", "once"),
    [
        ({0, 1, 2}, {0: (2, 2), 1: (2, 2), 2: (2, 2)}, 3, 0, 0, 0, True),
        ({0, 1, 2}, {0: (2, 2), 2: (2, 2)}, 2, 2, 0, 0, False),  # batch 1 never arrived
        ({0, 1}, {0: (2, 2), 1: (1, 1)}, 2, 1, 0, 0, False),  # half of batch 1
        ({0, 1}, {0: (4, 2), 1: (2, 2)}, 2, 0, 2, 0, False),  # batch 0 stored twice
        ({0, 1}, {0: (3, 1), 1: (2, 2)}, 2, 1, 2, 0, False),  # one read thrice, one lost
        ({0}, {0: (2, 2), 7: (2, 2)}, 2, 0, 0, 2, False),  # batch 7 was never sent
        ({0, 1}, {0: (2, 2), 1: (2, 2)}, 3, 0, 0, 0, False),  # a batch claimed twice
        (set(), {}, 0, 0, 0, 0, True),
    ],
)
def test_tally_counts_lost_duplicated_and_never_sent_observations(
    sent, stored, claimed, lost, duplicated, unexpected, once
):
    d = tally(sent, 2, stored, claimed)
    assert (d.lost, d.duplicated, d.unexpected, d.exactly_once) == (
        lost,
        duplicated,
        unexpected,
        once,
    )
    assert d.sent == 2 * len(sent) and d.stored == sum(n for n, _ in stored.values())


def test_tally_names_the_first_twenty_batches_with_a_loss():
    d = tally(range(30), 1, {}, 0)
    assert d.lost == 30 and d.lost_batches == tuple(range(20))
    assert "lost batches [0, 1," in str(d)
