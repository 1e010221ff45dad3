"""``rfidwms cloud`` as its users start it: migrates, serves, logs its URL, stops on SIGTERM."""

from __future__ import annotations

import re
import signal

from brokerkit import forget_session
from cloudkit import database_of_a_plain_role
from running import RunningProcess, get_json

from cloud.db.migrate import bundled_migrations, parse_migrations


async def test_rfidwms_cloud_serves_on_the_logged_url_and_stops_cleanly_on_sigterm(
    database_url, mqtt_url, site
):
    client_id = f"test-cmd-{site}"
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_INGEST_CLIENT_ID": client_id,
    }
    cloud = RunningProcess(["cloud", "--http-port", "0"], env)
    try:
        line = cloud.wait_for(
            lambda lines: next((ln for ln in lines if "serving http://" in ln), None), timeout=30
        )
        url = re.search(r"serving (http://\S+/)", line).group(1)
        applied = len(parse_migrations(bundled_migrations()))
        assert f"applied {applied} migration(s)" in cloud.output()
        status, h = get_json(f"{url}api/health")
        assert status == 200 and h["site"] == site and h["database"]["ok"]
        assert cloud.stop(signal.SIGTERM) == 0
        assert "rfidwms cloud stopping" in cloud.output()
        assert "Traceback" not in cloud.output()
    finally:
        cloud.stop(signal.SIGKILL)
        await forget_session(mqtt_url, client_id)


def test_rfidwms_cloud_without_a_database_url_says_so_and_exits_2():
    cloud = RunningProcess(["cloud"], {}, unset=("RFIDWMS_DATABASE_URL",))
    assert cloud.proc.wait(30) == 2
    cloud.wait_for(lambda lines: any("RFIDWMS_DATABASE_URL is not set" in ln for ln in lines), 5)


def test_rfidwms_cloud_in_an_ingest_group_without_a_client_id_says_so_and_exits_2():
    cloud = RunningProcess(
        ["cloud"],
        {"RFIDWMS_DATABASE_URL": "postgresql:///x", "RFIDWMS_INGEST_GROUP": "ingest"},
        unset=("RFIDWMS_INGEST_CLIENT_ID",),
    )
    assert cloud.proc.wait(30) == 2
    out = cloud.output()
    assert "RFIDWMS_INGEST_GROUP is set ('ingest') but RFIDWMS_INGEST_CLIENT_ID is not" in out
    assert "RFIDWMS_:" not in out


def test_rfidwms_cloud_that_cannot_migrate_says_why_in_one_line_and_exits_1(
    pg_admin_url, mqtt_url, site
):
    """A role that may not create tables in its database (not its owner)."""
    with database_of_a_plain_role(pg_admin_url, owner=False) as url:
        cloud = RunningProcess(
            ["cloud", "--http-port", "0"],
            {"RFIDWMS_DATABASE_URL": url, "RFIDWMS_MQTT_URL": mqtt_url, "RFIDWMS_SITE": site},
        )
        try:
            assert cloud.proc.wait(30) == 1
        finally:
            cloud.stop(signal.SIGKILL)
    out = cloud.output()
    assert "Traceback" not in out
    (line,) = [ln for ln in out.splitlines() if "cannot migrate" in ln]
    assert line.endswith(
        "cannot migrate the database: InsufficientPrivilege: permission denied for schema public"
        " (the role that migrates must own the database, or may create in its schema)"
    )


def test_rfidwms_cloud_with_a_bad_mqtt_url_names_it_without_its_password():
    cloud = RunningProcess(
        ["cloud"],
        {"RFIDWMS_DATABASE_URL": "postgresql:///x", "RFIDWMS_MQTT_URL": "mqtt://cloud:pa/ss@h"},
    )
    assert cloud.proc.wait(30) == 2
    out = cloud.output()
    assert "RFIDWMS_MQTT_URL: " in out and "mqtt://cloud:***@h" in out
    assert "pa/ss" not in out


def test_rfidwms_cloud_with_an_empty_http_host_says_how_to_listen_everywhere_and_exits_2():
    cloud = RunningProcess(
        ["cloud"], {"RFIDWMS_DATABASE_URL": "postgresql:///x", "RFIDWMS_HTTP_HOST": ""}
    )
    assert cloud.proc.wait(30) == 2
    out = cloud.output()
    assert "RFIDWMS_HTTP_HOST: " in out and "0.0.0.0" in out
    assert "serving" not in out and "Traceback" not in out
