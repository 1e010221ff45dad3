"""Cloud settings: rules between variables, and what of them may be shown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.settings import CloudSettings
from protocols.settings import SettingsError, load_settings


def test_an_ingest_group_without_a_client_id_is_refused_naming_both_variables(monkeypatch):
    """A default id derived from the host name changes with every container restart,
    stranding what the broker kept for the old session."""
    monkeypatch.delenv("RFIDWMS_INGEST_CLIENT_ID", raising=False)
    with pytest.raises(ValidationError) as caught:
        CloudSettings(database_url="postgresql:///x", ingest_group="ingest")
    message = str(caught.value)
    assert "RFIDWMS_INGEST_GROUP is set ('ingest')" in message
    assert "RFIDWMS_INGEST_CLIENT_ID is not" in message


def test_the_client_id_is_the_configured_one_or_derived_from_the_site_only(monkeypatch):
    monkeypatch.delenv("RFIDWMS_INGEST_CLIENT_ID", raising=False)
    grouped = CloudSettings(
        database_url="postgresql:///x", ingest_group="ingest", ingest_client_id="ingest-2"
    )
    assert grouped.mqtt_client_id() == "ingest-2"
    assert CloudSettings(database_url="postgresql:///x", site="s1").mqtt_client_id() == (
        "rfidwms-ingest-s1"
    )


def test_the_broker_is_shown_without_its_password():
    settings = CloudSettings(
        database_url="postgresql:///x", mqtt_url="mqtt://rfidwms-cloud:s3cret@broker.example:1883"
    )
    assert settings.mqtt_broker == "mqtt://rfidwms-cloud:***@broker.example:1883"


@pytest.mark.parametrize("host", ["", "   ", "\t"])
def test_a_blank_http_host_is_refused_naming_it_and_how_to_listen_everywhere(monkeypatch, host):
    """uvicorn given an empty host listens on every interface: a deployment that meant
    127.0.0.1 but left the variable empty would publish the API to the network."""
    monkeypatch.setenv("RFIDWMS_HTTP_HOST", host)
    with pytest.raises(SettingsError) as caught:
        load_settings(CloudSettings, database_url="postgresql:///x")
    message = str(caught.value)
    assert message.startswith("RFIDWMS_HTTP_HOST: ")
    assert "0.0.0.0" in message and "::" in message


def test_listening_on_every_interface_is_possible_when_said_so(monkeypatch):
    for host in ("0.0.0.0", "::", "127.0.0.1", "api.internal"):
        monkeypatch.setenv("RFIDWMS_HTTP_HOST", host)
        assert load_settings(CloudSettings, database_url="postgresql:///x").http_host == host


def test_allowed_origins_are_exact_scheme_host_port_origins(monkeypatch):
    monkeypatch.setenv(
        "RFIDWMS_HTTP_ALLOWED_ORIGINS", " https://wms.example.com, http://10.0.0.5:8080 ,"
    )
    settings = load_settings(CloudSettings, database_url="postgresql:///x")
    assert settings.allowed_origins == frozenset(
        {"https://wms.example.com", "http://10.0.0.5:8080"}
    )
    monkeypatch.delenv("RFIDWMS_HTTP_ALLOWED_ORIGINS")
    assert load_settings(CloudSettings, database_url="postgresql:///x").allowed_origins == (
        frozenset()
    )


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("wms.example.com", "wms.example.com"),
        ("https://wms.example.com/", "https://wms.example.com/"),
        ("https://wms.example.com/live", "https://wms.example.com/live"),
        ("ftp://wms.example.com", "ftp://wms.example.com"),
        ("https://ok.example.com,*", "*"),
        ("https://user@wms.example.com", "https://user@wms.example.com"),
        ("https://wms.example.com:99999", "https://wms.example.com:99999"),
    ],
)
def test_a_malformed_allowed_origin_is_refused_naming_the_variable_and_the_origin(
    monkeypatch, value, bad
):
    monkeypatch.setenv("RFIDWMS_HTTP_ALLOWED_ORIGINS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(CloudSettings, database_url="postgresql:///x")
    message = str(caught.value)
    assert message.startswith("RFIDWMS_HTTP_ALLOWED_ORIGINS: ")
    assert repr(bad) in message and "https://wms.example.com" in message


def test_the_live_view_caps_readers_and_edges(monkeypatch):
    assert CloudSettings(database_url="postgresql:///x").live_max_readers == 2000
    monkeypatch.setenv("RFIDWMS_LIVE_MAX_READERS", "0")
    with pytest.raises(SettingsError, match="RFIDWMS_LIVE_MAX_READERS"):
        load_settings(CloudSettings, database_url="postgresql:///x")
