"""What to confirm to the edges after a group has committed. Pure.

An edge keeps each batch in its spool until the cloud confirms it has committed
it (:class:`protocols.mqtt.BatchAck` on :func:`protocols.mqtt.ack_topic`); the
broker's PUBACK alone is not enough, as a broker that crashes before writing the
message to disk would lose it. So after each committed group the ingester
confirms every spooled batch in it: stored now, stored before (a batch sent
again, e.g. because the confirmation of the first copy was lost, is confirmed
again) or stored as a dead letter (sending it again would not help).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloud.ingest.classify import BatchKey
from protocols.mqtt import MAX_ACK_SEQS, BatchAck, ack_topic, encode_ack


@dataclass(frozen=True, slots=True)
class OutgoingAck:
    topic: str
    payload: bytes
    edge_id: str
    batches: int


def batch_acks(
    site: str, stored: Iterable[BatchKey], dead_lettered: Iterable[BatchKey]
) -> list[OutgoingAck]:
    """One acknowledgement per edge and spool (split past :data:`MAX_ACK_SEQS` seqs), in
    the order the edges first appear, seqs in ascending order without repeats."""
    per_spool: dict[tuple[str, str], tuple[set[int], set[int]]] = {}
    for edge_id, spool, seq in stored:
        per_spool.setdefault((edge_id, spool), (set(), set()))[0].add(seq)
    for edge_id, spool, seq in dead_lettered:
        per_spool.setdefault((edge_id, spool), (set(), set()))[1].add(seq)
    acks: list[OutgoingAck] = []
    for (edge_id, spool), (ok, dead) in per_spool.items():
        ok_seqs, dead_seqs = sorted(ok - dead), sorted(dead)
        topic = ack_topic(site, edge_id)
        while ok_seqs or dead_seqs:
            chunk_ok, ok_seqs = ok_seqs[:MAX_ACK_SEQS], ok_seqs[MAX_ACK_SEQS:]
            chunk_dead, dead_seqs = dead_seqs[:MAX_ACK_SEQS], dead_seqs[MAX_ACK_SEQS:]
            ack = BatchAck(edge_id=edge_id, spool=spool, stored=chunk_ok, dead_lettered=chunk_dead)
            acks.append(
                OutgoingAck(topic, encode_ack(ack), edge_id, len(chunk_ok) + len(chunk_dead))
            )
    return acks
