"""Run ``rfidwms`` sub-commands as real processes in tests, and stop them for sure."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from authkit import bearer

from protocols.layout import Layout


class RunningProcess:
    """``rfidwms <argv>`` (or ``python <script> <argv>``) with its output collected line
    by line."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path | None = None,
        unset: tuple[str, ...] = (),
        *,
        script: Path | None = None,
    ) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self._cond = threading.Condition()
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        for name in unset:
            full_env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, *([str(script)] if script else ["-m", "rfidwms"]), *argv],
            env=full_env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, predicate: Callable[[list[str]], Any], timeout: float) -> Any:
        """Wait until ``predicate(lines)`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = predicate(self.lines)
                if found:
                    return found
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"rfidwms {' '.join(self.argv)} exited with {self.proc.returncode}:\n"
                        + "\n".join(self.lines[-40:])
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"rfidwms {' '.join(self.argv)}: timed out after {timeout} s:\n"
                        + "\n".join(self.lines[-40:])
                    )
                self._cond.wait(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"rfidwms {' '.join(self.argv)} did not stop within {timeout} s:\n"
                    + self.output()[-4000:]
                ) from None
        return self.proc.returncode


def get_json(url: str, timeout: float = 5, *, token: str | None = None) -> tuple[int, Any]:
    """GET ``url`` (with ``token`` as a bearer token when given): status, JSON."""
    headers = bearer(token) if token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        ) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_http(url: str, timeout: float, proc: RunningProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.proc.poll() is not None:
            raise AssertionError(f"process exited:\n{proc.output()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s")


# -- the simulator's devices, for an edge started by a test -------------------------------

_DEVICE_LINE = re.compile(r"^\S+ (llrp|mtsics)://127\.0\.0\.1:\d+$")


def parts_env(
    *, database_url: str, mqtt_url: str, site: str, http_port: int, spool_dir: Path, clock: str
) -> dict[str, str]:
    """The environment of a run's parts (cloud, simulator, edge) sharing ``clock`` (a
    ``RFIDWMS_CLOCK`` spec), with keepalives fast enough for a test to see a reader."""
    return {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_HTTP_PORT": str(http_port),
        "RFIDWMS_SPOOL_DIR": str(spool_dir),
        "RFIDWMS_CLOCK": clock,
        "RFIDWMS_LLRP_KEEPALIVE_S": "0.3",
    }


def sim_devices(sim: RunningProcess, layout: Layout, timeout: float = 60) -> list[str]:
    """The ``<id> llrp://…`` / ``<id> mtsics://…`` lines ``rfidwms sim`` printed, once it
    printed one for every reader and scale of ``layout`` (it chose free ports)."""
    devices = len(layout.readers) + len(layout.scales)

    def device_lines(lines: list[str]) -> list[str] | None:
        found = [x for x in lines if _DEVICE_LINE.match(x)]
        return found if len(found) >= devices else None

    return sim.wait_for(device_lines, timeout=timeout)


def layout_with_ports(layout: Layout, lines: list[str], path: Path) -> Path:
    """``layout`` with each reader's and scale's address as ``rfidwms sim`` printed it."""
    ports = {ln.split()[0]: int(ln.rsplit(":", 1)[1]) for ln in lines}
    data = yaml.safe_load(layout.model_dump_json())
    for device in [*data["readers"], *data["scales"]]:
        device.update(host="127.0.0.1", port=ports[device["id"]])
    path.write_text(yaml.safe_dump(data))
    return path


def wait_edge_reading(edge: RunningProcess, layout: Layout, timeout: float = 60) -> None:
    """Until the edge says every reader of ``layout`` is inventorying."""
    edge.wait_for(
        lambda ls: all(
            any(f"reader {r.id}: inventorying" in x for x in ls) for r in layout.readers
        ),
        timeout=timeout,
    )
