"""``ocpi-oicp-bridge serve`` as a real process: it starts uvicorn on loopback, answers /health,
and shuts down gracefully on SIGTERM (exit code 0, the store closed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.gateway import write_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> httpx.Response:
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the gateway did not answer /health in time")


def test_serve_answers_health_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        response = _wait_healthy(f"http://127.0.0.1:{port}/health", process, time.monotonic() + 30)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "gateway started" in log
    assert "gateway stopped" in log, "the lifespan shutdown ran (store closed)"
    assert "httptools" in log


def test_check_config_rejects_a_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bridge.yaml"
    bad.write_text("public_url: http://x\nocpi: {parties: []}\n")
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check-config", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert result.stderr.count("\n") == 1, "one line naming file, key and reason"
