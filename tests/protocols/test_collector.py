"""The collector of a long-running process: young collections rarer, the start frozen."""

from __future__ import annotations

import gc

import pytest

from protocols.collector import calm_collector


@pytest.fixture
def collector():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


def test_young_collections_become_rarer_and_what_lives_now_is_frozen(collector):
    gc.set_threshold(700, 10, 10)
    kept = [[] for _ in range(1000)]  # lists: objects the collector tracks
    calm_collector(50_000)
    assert gc.get_threshold() == (50_000, 10, 10)
    assert gc.get_freeze_count() >= len(kept)


def test_collection_turned_off_or_already_rarer_is_left_so(collector):
    gc.set_threshold(0, 10, 10)
    calm_collector(50_000, freeze=False)
    assert gc.get_threshold() == (0, 10, 10)
    gc.set_threshold(100_000, 10, 10)
    calm_collector(50_000, freeze=False)
    assert gc.get_threshold() == (100_000, 10, 10)
