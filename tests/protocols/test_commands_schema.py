"""The command and result messages between the cloud and an edge (protocols/commands.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocols.commands import (
    CommandName,
    CommandResult,
    CommandStatus,
    command_topic,
    decode_command,
    decode_result,
    encode,
    parse_result_topic,
    result_subscription,
    result_topic,
)
from protocols.mqtt import PayloadError

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ID = "0123456789abcdef0123456789abcdef"


def command(**kw) -> dict:
    body = {
        "v": 1, "id": ID, "edge_id": "edge-1", "reader_id": "reader-door-1",
        "command": "set_power", "antenna": 2, "power_dbm": 20.0,
        "sent_at": T0.isoformat(), "expires_at": (T0 + timedelta(seconds=30)).isoformat(),
    }  # fmt: skip
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def as_bytes(body: dict) -> bytes:
    import json

    return json.dumps(body).encode()


def test_a_command_and_its_result_round_trip():
    cmd = decode_command(as_bytes(command()))
    assert (cmd.command, cmd.antenna, cmd.power_dbm) == (CommandName.SET_POWER, 2, 20.0)
    assert decode_command(encode(cmd)) == cmd
    res = CommandResult(
        id=ID, edge_id="edge-1", reader_id="reader-door-1", command=CommandName.SET_POWER,
        status=CommandStatus.OK, detail="antenna 2: 20 dBm", at=T0,
    )  # fmt: skip
    assert decode_result(encode(res)) == res


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"antenna": None}, "ReaderCommand: set_power needs antenna and power_dbm"),
        ({"command": "stop"}, "ReaderCommand: stop takes no antenna or power_dbm"),
        ({"command": "reboot"}, "ReaderCommand.command: Input should be"),
        ({"power_dbm": 41.0}, "ReaderCommand.power_dbm: Input should be less than or equal to 40"),
        ({"id": "xyz"}, "ReaderCommand.id: String should match pattern"),
        ({"v": 2}, "ReaderCommand.v: Input should be 1"),
        ({"extra": 1}, "ReaderCommand.extra: Extra inputs are not permitted"),
        ({"expires_at": T0.isoformat()}, "ReaderCommand: expires_at must be after sent_at"),
    ],
)
def test_a_bad_command_is_refused_naming_the_field(change, error):
    with pytest.raises(PayloadError, match="^" + error.replace("(", r"\(")):
        decode_command(as_bytes(command(**change)))


def test_a_command_without_power_fields_is_valid_for_the_other_commands():
    for name in ("reconnect", "start", "stop"):
        cmd = decode_command(as_bytes(command(command=name, antenna=None, power_dbm=None)))
        assert cmd.command == name and cmd.antenna is None


def test_topics_have_six_levels_and_the_result_topic_parses_back():
    assert command_topic("site-1", "edge-1") == "rfidwms/v1/site-1/edge-1/commands/reader"
    name = result_topic("site-1", "edge-1")
    assert name == "rfidwms/v1/site-1/edge-1/command_results/reader"
    assert result_subscription("site-1") == "rfidwms/v1/site-1/+/command_results/reader"
    address = parse_result_topic(name)
    assert (address.site, address.edge_id) == ("site-1", "edge-1")
    for bad in (
        "rfidwms/v1/site-1/edge-1/health",
        "rfidwms/v1/site-1/e dge/command_results/reader",
    ):
        with pytest.raises(PayloadError):
            parse_result_topic(bad)
    with pytest.raises(PayloadError, match="edge id"):
        command_topic("site-1", "edge/2")
