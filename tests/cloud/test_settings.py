"""Cloud settings: rules between variables, and what of them may be shown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.settings import CloudSettings


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
