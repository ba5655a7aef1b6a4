"""The gateway refuses to start, as a real `nameko run` process, when a token setting holds the
digest of an example token (the ones the manifests used to ship) or of the empty token; with a
token of its own it starts and serves."""
from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from kernel.config import ROOT
from tests.helpers import wait_for


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_gateway(platform_config, tmp_path, setting: str, digest: str) -> subprocess.Popen:
    config = {**platform_config, "AUTH": {**platform_config["AUTH"], setting: digest}}
    path = tmp_path / "gateway.yml"
    path.write_text(yaml.safe_dump(config))
    nameko = Path(sys.executable).with_name("nameko")
    return subprocess.Popen([str(nameko), "run", "--config", str(path), "services.gateway.service"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize(("setting", "token"), [
    ("STAFF_TOKEN_SHA256", "change-me"), ("OPS_TOKEN_SHA256", "change-me-ops"),
    ("ADMIN_TOKEN_SHA256", "change-me-admin"), ("ALERTMANAGER_TOKEN_SHA256", "change-me-too"),
    ("ADMIN_TOKEN_SHA256", ""),
])
def test_a_known_example_digest_stops_the_gateway_at_start_up(platform_config, tmp_path, setting, token):
    process = start_gateway(platform_config, tmp_path, setting, f"{sha256(secrets.token_hex(8))},{sha256(token)}")
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode != 0
    assert f"AUTH.{setting} holds the sha256 of an example or empty token" in output
    assert token == "" or token not in output.replace(f"AUTH.{setting}", "")  # named by setting, not by token


def test_a_token_of_its_own_lets_the_gateway_start(platform_config, tmp_path, gateway_url):
    process = start_gateway(platform_config, tmp_path, "ADMIN_TOKEN_SHA256", sha256(secrets.token_urlsafe(32)))
    try:
        def serves():
            assert process.poll() is None, process.communicate()[0]
            try:
                return requests.get(f"{gateway_url}/privacy", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(serves, timeout=60, message="the gateway process to serve")
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
