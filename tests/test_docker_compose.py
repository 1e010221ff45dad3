"""docker-compose.yml is valid, has no default passwords, and starts only commands the
rfidwms CLI really has. (What the Mosquitto config in it enforces: test_mosquitto_acl.py.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import require_system_tool

from rfidwms.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
PASSWORDS = ("RFIDWMS_DB_PASSWORD", "RFIDWMS_MQTT_CLOUD_PASSWORD", "RFIDWMS_MQTT_EDGE_PASSWORD")


def compose_config(tmp_path: Path, **passwords: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose config -q`` with exactly ``passwords`` set: none inherited from
    this environment, and an empty env file instead of a developer's ``.env``."""
    tool = require_system_tool("docker-compose", "docker-compose")
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in PASSWORDS} | passwords
    return subprocess.run(
        [tool, "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.compose
def test_docker_compose_validates_the_file(tmp_path):
    result = compose_config(tmp_path, **{name: "s3cret-" + name.lower() for name in PASSWORDS})
    assert result.returncode == 0, result.stderr


@pytest.mark.compose
@pytest.mark.parametrize("missing", PASSWORDS)
def test_every_password_must_be_set_there_are_no_defaults(tmp_path, missing):
    result = compose_config(tmp_path, **{n: "s3cret" for n in PASSWORDS if n != missing})
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def rfidwms_services() -> dict[str, list[str]]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: s["command"] for name, s in services.items() if "build" in s}


def test_the_stack_runs_cloud_edge_and_sim_from_the_one_image():
    assert sorted(rfidwms_services()) == ["cloud", "edge", "sim"]


@pytest.mark.parametrize(("service", "command"), sorted(rfidwms_services().items()))
def test_every_service_command_parses_with_the_real_cli(service, command):
    assert command[0] == "rfidwms", f"{service} does not run the rfidwms command"
    args = build_parser().parse_args(command[1:])
    assert args.command == service
