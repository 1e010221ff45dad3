"""A simulated reader's Gen2 throughput (pure): at most ``reads_per_s`` tag reads a
second; beyond that, the tags read longest ago first and new tags before all."""

from __future__ import annotations

import pytest

from firmware_sim.llrp_inventory import Singulation


def tags(n: int, antenna: int = 1) -> list[tuple[int, bytes, float]]:
    return [(antenna, i.to_bytes(12, "big"), -50.0) for i in range(n)]


def test_without_a_limit_every_tag_heard_is_read():
    heard = tags(5000)
    assert Singulation(None).select(heard, 0.0) is heard


def test_a_round_reads_what_the_time_since_the_last_allows():
    s = Singulation(80.0)
    assert len(s.select(tags(500), 0.0)) == 80  # the first round: one burst's worth
    assert len(s.select(tags(500), 0.5)) == 40
    assert len(s.select(tags(500), 0.625)) == 10
    assert len(s.select(tags(500), 0.625)) == 0  # no time, no reads
    assert len(s.select(tags(20), 10.0)) == 20  # fewer tags than the credit: all of them
    assert len(s.select(tags(500), 30.0)) == 80  # credit saved up is one burst at most


def test_a_crowded_field_is_read_in_turns_and_a_new_tag_goes_first():
    s = Singulation(80.0)
    population = tags(300)
    reads: dict[bytes, int] = {}
    for k in range(23):  # a first burst of 80, then 22 rounds of 1/8 s: every tag once
        for _, epc, _ in s.select(population, 1.0 + 0.125 * k):
            reads[epc] = reads.get(epc, 0) + 1
    assert len(reads) == 300 and set(reads.values()) == {1}
    newcomer = (2, b"\xff" * 12, -60.0)
    chosen = s.select([*population, newcomer], 1.0 + 0.125 * 23)
    assert len(chosen) == 10 and newcomer in chosen


@pytest.mark.parametrize("rate", [0.0, -5.0])
def test_a_rate_must_be_positive(rate: float):
    with pytest.raises(ValueError, match="reads_per_s"):
        Singulation(rate)
