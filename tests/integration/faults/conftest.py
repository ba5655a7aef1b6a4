"""Fixtures of the fault-injection tests: service processes that are always stopped, and a
RabbitMQ node of the tests' own (never the shared broker) that can be stopped, killed and
started again."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection

from tests.helpers import broker_idle, free_port
from tests.integration.faults.support import Processes

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


@pytest.fixture
def processes(tmp_path):
    """`processes(config)`: a Processes for this test's service processes; all stopped afterwards."""
    made: list[Processes] = []

    def make(config: dict) -> Processes:
        made.append(Processes(config, tmp_path))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


class RabbitNode:
    """A throw-away RabbitMQ node: its own name, ports, data, logs, config and Erlang cookie.

    Run as root through /usr/lib/rabbitmq/bin/rabbitmq-server (the /usr/sbin wrapper would `su`
    to the rabbitmq user, which can neither read this temporary directory nor should share the
    system node's cookie); HOME points into the directory, so the cookie is made there too.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.name = f"faults-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        for sub in ("home", "mnesia", "log"):
            (directory / sub).mkdir()
        (directory / "enabled_plugins").write_text("[].\n")
        (directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "log.console = false\n"
        )
        (directory / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        self.env = {
            **os.environ,
            "HOME": str(directory / "home"),
            "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
        }
        self.process: subprocess.Popen | None = None
        self.amqp_uri = f"pyamqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 120) -> None:
        with open(self.directory / "server.out", "ab") as out:
            self.process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")], env=self.env, cwd=self.directory,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.accepts_connections():
            if self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {self.name} exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.name} did not come up in {timeout}s:\n{self.tail()}")
            time.sleep(0.2)

    def accepts_connections(self) -> bool:
        try:
            with Connection(self.amqp_uri, connect_timeout=2) as connection:
                connection.connect()
                connection.channel().close()
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def idle(self, queues) -> bool:
        """None of `queues` on the node holds a message, ready or unacknowledged (tests.helpers.broker_idle)."""
        return broker_idle(self.amqp_uri, queues, (str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name), self.env)

    def stop(self) -> None:
        """A clean stop of the whole node (connections closed, queues written out)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.ctl("stop")
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()

    def stop_app(self) -> None:
        """Stop the RabbitMQ application in its running Erlang node: every connection is closed
        and new ones are refused; durable queues and persistent messages are written out."""
        self._ctl_checked("stop_app")

    def start_app(self) -> None:
        self._ctl_checked("start_app")
        deadline = time.monotonic() + 60
        while not self.accepts_connections():
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.name} did not come back:\n{self.tail()}")
            time.sleep(0.2)

    def _ctl_checked(self, command: str) -> None:
        done = self.ctl(command)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {command} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def kill(self) -> None:
        """SIGKILL to the node's process group: a crash, nothing written out."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(30)

    def tail(self, lines: int = 30) -> str:
        text = ""
        for path in [self.directory / "server.out", *sorted((self.directory / "log").glob("*.log"))]:
            try:
                text += f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                pass
        return text


@pytest.fixture(scope="module")
def rabbit_node():
    """A RabbitMQ node of this module's own, up; killed and deleted afterwards whatever happened."""
    directory = Path(tempfile.mkdtemp(prefix="faults-rabbit-"))
    node = RabbitNode(directory)
    try:
        node.start()
        yield node
    finally:
        try:
            node.stop()
        finally:
            node.kill()
            if node.process is not None:
                try:
                    os.killpg(node.process.pid, signal.SIGKILL)  # anything the node left in its group
                except ProcessLookupError:
                    pass
            shutil.rmtree(directory, ignore_errors=True)
