"""docker-compose.yml is valid and starts only commands the rfidwms CLI really has."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import require_system_tool

from rfidwms.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


@pytest.mark.compose
def test_docker_compose_validates_the_file():
    tool = require_system_tool("docker-compose", "docker-compose")
    result = subprocess.run(
        [tool, "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


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


def test_the_mosquitto_acl_confines_each_edge_to_its_own_topics():
    acl = (ROOT / "deploy/mosquitto/acl").read_text()
    assert "pattern write rfidwms/v1/+/%u/observations" in acl
    assert "allow_anonymous false" in (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
