"""``rfidwms sim``'s WMS options refused by name when they do not fit."""

from __future__ import annotations

import argparse

import pytest

from rfidwms.cli import main
from rfidwms.commands import sim


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mistake-rate", "0.3"], "--mistake-rate needs --wms"),
        (["--wms", "http://127.0.0.1:9/"],
         "--wms needs a token: --wms-token or $RFIDWMS_WMS_TOKEN"),
        (["--wms", "ftp://host/", "--wms-token", "t"],
         "--wms: 'ftp://host/' is not an http(s) URL"),
        (["--wms", "http://h/", "--wms-token", "t", "--mistake-rate", "1.5"],
         "--mistake-rate: '1.5' is not between 0 and 1"),
        (["--wms", "http://h/", "--wms-token", "t", "--mistake-rate", "x"],
         "--mistake-rate: 'x' is not a number"),
        (["--site", "dc-2"], "--site needs --wms"),
        (["--wms", "http://h/", "--wms-token", "t", "--site", "dc 2"],
         "--site: 'dc 2' is not a site id"),
    ],
)  # fmt: skip
def test_wms_options_that_do_not_fit_are_refused_by_name(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("RFIDWMS_WMS_TOKEN", raising=False)
    monkeypatch.delenv("RFIDWMS_WMS_OPERATOR_TOKEN", raising=False)
    with pytest.raises(SystemExit) as stopped:
        raise SystemExit(main(["sim", "--duration", "1", *argv]))
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_demo_takes_a_mistake_rate_and_refuses_a_wrong_one(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--mistake-rate", "2"])
    assert stopped.value.code == 2
    assert "--mistake-rate: '2' is not between 0 and 1" in capsys.readouterr().err


def test_the_site_goes_to_the_wms_settings(monkeypatch):
    monkeypatch.delenv("RFIDWMS_WMS_OPERATOR_TOKEN", raising=False)
    parser = argparse.ArgumentParser()
    sim.add_parser(parser.add_subparsers())
    args = parser.parse_args(["sim", "--wms", "http://h/", "--wms-token", "t", "--site", "dc-2"])
    settings = sim.wms_settings(args)
    assert settings is not None and settings.site == "dc-2"
    args = parser.parse_args(["sim", "--wms", "http://h/", "--wms-token", "t"])
    settings = sim.wms_settings(args)
    assert settings is not None and settings.site is None  # named in no request
