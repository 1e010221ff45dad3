"""``rfidwms epc decode|encode``: every form as ``key: value`` lines, exit 2 on bad input."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from rfidwms.commands import epc as epc_command

TDS_HEX = "3074257BF7194E4000001A85"
TDS_LINES = {
    "hex": TDS_HEX,
    "uri": "urn:epc:id:sgtin:0614141.812345.6789",
    "tag_uri": "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
    "scheme": "sgtin",
    "filter": "3",
    "company_prefix": "0614141",
    "gtin": "80614141123458",
    "serial": "6789",
    "element_string": "(01)80614141123458(21)6789",
}


def run_epc(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str], str]:
    """Run the command through its own ``add_parser`` under a stand-in root parser."""
    root = argparse.ArgumentParser(prog="rfidwms")
    epc_command.add_parser(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["epc", *argv])
    code = args.func(args)
    captured = capsys.readouterr()
    return code, parse_lines(captured.out), captured.err


def parse_lines(text: str) -> dict[str, str]:
    pairs = (line.split(": ", 1) for line in text.splitlines() if line)
    return {key: value for key, value in pairs}


def test_decode_hex_prints_every_form(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run_epc(["decode", TDS_HEX], capsys)
    assert code == 0
    assert err == ""
    assert lines.items() >= TDS_LINES.items()


def test_decode_tag_uri_prints_the_hex(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_epc(["decode", "urn:epc:tag:sscc-96:3.0614141.1234567890"], capsys)
    assert code == 0
    assert lines["hex"] == "3174257BF4499602D2000000"
    assert lines["sscc"] == "106141412345678908"
    assert lines["element_string"] == "(00)106141412345678908"


def test_encode_pure_uri_with_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_epc(
        ["encode", "urn:epc:id:sgtin:0614141.812345.6789", "--filter", "3"], capsys
    )
    assert code == 0
    assert lines.items() >= TDS_LINES.items()


def test_encode_element_string_needs_and_uses_the_prefix_length(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run_epc(
        ["encode", "(8003)00614141123452400", "--company-prefix-length", "7", "--filter", "3"],
        capsys,
    )
    assert code == 0
    assert lines["hex"] == "3374257BF40C0E4000000190"
    assert lines["asset_type"] == "12345"
    assert lines["grai"] == "00614141123452400"

    code, lines, err = run_epc(["encode", "(8004)061414112345400"], capsys)
    assert code == 2
    assert lines == {}
    assert "--company-prefix-length" in err


def test_decode_giai_prints_its_own_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_epc(["decode", "3474257BF40000000000162E"], capsys)
    assert code == 0
    assert lines["scheme"] == "giai"
    assert lines["asset_reference"] == "5678"
    assert lines["giai"] == "06141415678"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["decode", "350000000000000000000000"], "unknown EPC header 0x35"),
        (["decode", "not-an-epc"], "neither 24 hex digits"),
        (["encode", "urn:epc:id:sgtin:0614141.812345.274877906944"], "serial '274877906944'"),
        (["encode", "urn:epc:tag:sgtin-96:3.0614141.812345.6789", "--filter", "1"], "conflicts"),
        (["encode", "urn:epc:id:sgtin:0614141.812345.6789", "--filter", "9"], "filter 9"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = run_epc(argv, capsys)
    assert code == 2
    assert lines == {}
    assert named in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_python_m_rfidwms_epc_decode() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rfidwms", "epc", "decode", TDS_HEX],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert parse_lines(done.stdout).items() >= TDS_LINES.items()


def test_python_m_rfidwms_epc_bad_input_exits_2_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rfidwms", "epc", "decode", "350000000000000000000000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown EPC header 0x35" in done.stderr
    assert "Traceback" not in done.stderr
