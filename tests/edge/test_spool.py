"""The on-disk spool keeps batches and their sequence numbers across restarts."""

from __future__ import annotations

from edge.spool import Spool


def test_batches_wait_in_order_until_acknowledged(tmp_path):
    with Spool(tmp_path / "s.sqlite") as spool:
        for _ in range(3):
            spool.append("t", lambda seq: f"batch {seq}".encode())
        assert [b.seq for b in spool.pending()] == [0, 1, 2]
        spool.acknowledge(0)
        assert [b.payload for b in spool.pending()] == [b"batch 1", b"batch 2"]


def test_a_restart_keeps_unsent_batches_and_never_reuses_a_sequence_number(tmp_path):
    path = tmp_path / "s.sqlite"
    with Spool(path) as spool:
        spool.append("t", lambda seq: b"a")
        spool.append("t", lambda seq: b"b")
        spool.acknowledge(0)
        spool.acknowledge(1)
        spool.append("t", lambda seq: b"c")
    with Spool(path) as spool:
        assert [(b.seq, b.payload) for b in spool.pending()] == [(2, b"c")]
        assert spool.append("t", lambda seq: b"d").seq == 3
        assert len(spool) == 2


def test_a_failing_payload_builder_takes_no_sequence_number(tmp_path):
    with Spool(tmp_path / "s.sqlite") as spool:

        def boom(seq: int) -> bytes:
            raise ValueError("bad")

        try:
            spool.append("t", boom)
        except ValueError:
            pass
        assert spool.next_seq() == 0 and len(spool) == 0


def test_a_spool_keeps_its_id_and_a_new_spool_gets_another(tmp_path):
    with Spool(tmp_path / "a.sqlite") as spool:
        first = spool.spool_id
    with Spool(tmp_path / "a.sqlite") as spool:
        assert spool.spool_id == first
    with Spool(tmp_path / "b.sqlite") as other:
        assert other.spool_id != first and len(other.spool_id) == 32


def test_a_spool_file_from_before_spool_ids_gets_one_and_keeps_its_batches(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE batches (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB)")
    db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, next_seq INTEGER)")
    db.execute("INSERT INTO counter VALUES (1, 8)")
    db.execute("INSERT INTO batches VALUES (7, 't', x'00')")
    db.commit()
    db.close()
    with Spool(path) as spool:
        assert len(spool.spool_id) == 32
        assert [b.seq for b in spool.pending()] == [7]
        assert spool.append("t", lambda seq: b"new").seq == 8
