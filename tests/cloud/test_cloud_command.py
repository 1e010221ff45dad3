"""``rfidwms cloud`` as its users start it: migrates, serves, logs its URL, stops on SIGTERM."""

from __future__ import annotations

import re
import signal

from brokerkit import forget_session
from running import RunningProcess, get_json


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
        assert "applied 3 migration(s)" in cloud.output()
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
