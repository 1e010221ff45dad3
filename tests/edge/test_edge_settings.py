"""The edge's settings refuse what would fail later, naming the variable."""

from __future__ import annotations

import pytest

from edge.settings import EdgeSettings
from protocols.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RFIDWMS_MQTT_URL": "mqtt://edge-2:pw@broker"}, "logs in as 'edge-2' but this is edge"),
        ({"RFIDWMS_EDGE_ID": "Edge-1"}, "RFIDWMS_EDGE_ID: String should match pattern"),
        ({"RFIDWMS_LLRP_PORT_BASE": "abc"}, "RFIDWMS_LLRP_PORT_BASE: Input should be a valid"),
        ({"RFIDWMS_MQTT_URL": "http://broker"}, "RFIDWMS_MQTT_URL: MQTT URL 'http://broker'"),
        ({"RFIDWMS_LOG_LEVEL": "verbose"}, "RFIDWMS_LOG_LEVEL: Input should be"),
        ({"RFIDWMS_MAX_BATCH_OBSERVATIONS": "9000"}, "RFIDWMS_MAX_BATCH_OBSERVATIONS"),
    ],
)
def test_wrong_settings_are_refused_naming_the_variable(monkeypatch, env, named):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as e:
        load_settings(EdgeSettings)
    assert named in str(e.value)
    assert "pw@" not in str(e.value)


def test_the_user_name_may_be_the_edge_id(monkeypatch):
    monkeypatch.setenv("RFIDWMS_MQTT_URL", "mqtt://edge-3:pw@broker")
    assert load_settings(EdgeSettings, edge_id="edge-3").edge_id == "edge-3"


def test_command_line_values_are_named_as_options():
    with pytest.raises(SettingsError, match="--llrp-port-base"):
        load_settings(EdgeSettings, llrp_port_base=0)
