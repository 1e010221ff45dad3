"""The demo passes its parts' output on and keeps none of it once they are up."""

from __future__ import annotations

import os
import threading

from rfidwms.commands.demo import Child


def _finished(child: Child) -> None:
    child.proc.wait(30)
    child._pump_thread.join(10)


def test_a_part_s_output_is_kept_while_it_starts():
    child = Child("help", ["--help"], dict(os.environ))
    found = child.wait_for_lines(1, "usage:", timeout=30, stop=threading.Event())
    _finished(child)
    assert found and child.lines, "start-up waits on the lines"


def test_a_started_part_s_output_is_passed_on_and_no_longer_kept():
    """The demo runs for days: the list of every line a part ever printed grew without
    end (seen by bench/bench_soak.py)."""
    child = Child("help", ["--help"], dict(os.environ))
    child.started()
    _finished(child)
    assert child.lines == []
