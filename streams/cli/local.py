"""Starting and stopping the local broker and worker.

The broker is Apache Kafka (KRaft, one node acting as broker and controller) run from jars
that Maven resolves from Maven Central into the local repository (streams/cli/kafka/pom.xml pins the
version). Both processes run detached, with pid files and logs under .turnout/, so `up` and
`down` can be repeated safely: what already runs is reused, what is stale is cleaned up.
Everything under TURNOUT_HOME is this user's only (folders 0700, files 0600: the broker's log
and chDB's files hold electors and their intentions), and the processes run with umask 077.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import httpx

from streams.errors import ConfigError, LocalServiceError
from streams.kafka_config import check_connection, kafka_python_kwargs, topic_configs
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings
from streams.store import private_dir

log = logging.getLogger(__name__)

# pom.xml and configs are package data (infra/kafka links here), so `pip install .` works too.
KAFKA_INFRA = Path(str(resources.files(__package__) / "kafka"))
PRIVATE_UMASK = 0o077  # what the broker and the worker create is readable by this user only


@dataclass(frozen=True)
class Process:
    """A detached process known by its pid file."""

    name: str
    pid_file: Path
    log_file: Path

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not _alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def spawn(self, argv: list[str], env: dict[str, str] | None = None) -> int:
        private_dir(self.pid_file.parent)
        private_dir(self.log_file.parent)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with open(fd, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                umask=PRIVATE_UMASK,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`; True if something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            log.warning(
                "%s (pid %d) ignored SIGTERM for %.0fs; killing it", self.name, pid, timeout
            )
            _signal(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the whole session: the process and anything it started
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class BrokerTls:
    """A SASL_SSL listener for the local broker in place of PLAINTEXT (the security tests use it).

    `keystore` holds the broker's PKCS#8 private key then its certificate chain, `truststore`
    the CA, both PEM. Each of `users` (name -> password) may log in with PLAIN, SCRAM-SHA-256
    and SCRAM-SHA-512; the SCRAM credentials are written by the broker's own storage tool.
    """

    keystore: Path
    truststore: Path
    users: dict[str, str]
    broker_password: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)

    def properties(self) -> str:
        plain = " ".join(f'user_{name}="{pw}"' for name, pw in self.users.items())
        values = {
            "keystore": str(self.keystore), "truststore": str(self.truststore),
            "broker_user": "broker", "broker_password": self.broker_password,
            "plain_users": f'user_broker="{self.broker_password}" {plain}',
        }  # fmt: skip
        return _fill((KAFKA_INFRA / "sasl_ssl.properties").read_text(), values)

    def scram_arguments(self) -> list[str]:
        """`kafka-storage format` options that create every user for both SCRAM mechanisms."""
        return [
            f"--add-scram={mechanism}=[name={name},password={pw}]"
            for name, pw in self.users.items()
            for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
        ]


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


class LocalKafka:
    """The single-node KRaft broker under <home>/kafka; PLAINTEXT, or SASL_SSL given `tls`."""

    def __init__(self, settings: Settings, tls: BrokerTls | None = None) -> None:
        self.settings = settings
        self.tls = tls
        self.home = (settings.home / "kafka").resolve()
        self.process = Process("kafka", self.home / "kafka.pid", self.home / "logs" / "kafka.out")

    @property
    def port(self) -> int:
        return self.settings.kafka_port

    @property
    def classpath_file(self) -> Path:
        return self.home / "classpath"

    def fetch(self) -> Path:
        """Resolve the broker jars with Maven (cached in ~/.m2) and write their classpath."""
        if self.classpath_file.exists() and self._classpath_ok():
            return self.classpath_file
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalServiceError("Maven (mvn) not found on PATH: install Maven to fetch Kafka")
        private_dir(self.home)
        argv = [
            mvn, "-q", "-B", "-f", str(KAFKA_INFRA / "pom.xml"), "dependency:build-classpath",
            f"-Dmdep.outputFile={self.classpath_file}",
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise LocalServiceError(
                "Maven could not fetch the Kafka jars:\n" + (done.stdout + done.stderr)[-2000:]
            )
        return self.classpath_file

    def _classpath_ok(self) -> bool:
        entries = self.classpath_file.read_text().strip().split(os.pathsep)
        return bool(entries) and all(Path(e).exists() for e in entries)

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self, timeout: float = 90.0) -> bool:
        """Start the broker unless it runs; returns True if it was started now."""
        if self.running():
            self.wait_ready(timeout)
            return False
        if port_open("127.0.0.1", self.port):
            raise LocalServiceError(
                f"port {self.port} is taken by another process; stop it or set TURNOUT_KAFKA_PORT"
            )
        private_dir(self.settings.home.resolve())
        classpath = self.fetch().read_text().strip()
        config = self._write_config()
        if not (self.home / "data" / "meta.properties").exists():
            self._format(classpath, config)
        argv = [*self._java(classpath), "kafka.Kafka", str(config)]
        self.process.spawn(argv)
        self.wait_ready(timeout)
        return True

    def _java(self, classpath: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise LocalServiceError("java not found on PATH: install a Java 17+ runtime")
        logs = self.home / "logs"
        return [
            java, "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={logs}",
            f"-Dlog4j2.configurationFile={KAFKA_INFRA / 'log4j2.properties'}",
            "-cp", classpath,
        ]  # fmt: skip

    def _write_config(self) -> Path:
        values = {
            "host": "127.0.0.1",
            "port": str(self.port),
            "controller_port": str(self.port + 1),
            "data_dir": str(self.home / "data"),
            "partitions": str(self.settings.partitions),
            "listener": "SASL_SSL" if self.tls else "PLAINTEXT",
        }
        config = _fill((KAFKA_INFRA / "server.properties").read_text(), values)
        if self.tls is not None:
            config += self.tls.properties()
        path = self.home / "server.properties"
        private_dir(path.parent)
        path.write_text(config)
        path.chmod(0o600)  # with TLS it holds the SASL passwords
        return path

    def _format(self, classpath: str, config: Path) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # `--cluster-id=…` in one argument: a random id may start with "-".
        argv = [*self._java(classpath), "kafka.tools.StorageTool", "format",
                f"--cluster-id={cluster_id}", f"--config={config}"]  # fmt: skip
        if self.tls is not None:
            argv += self.tls.scram_arguments()
        done = subprocess.run(argv, capture_output=True, text=True, umask=PRIVATE_UMASK)
        if done.returncode != 0:
            raise LocalServiceError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")

    def wait_ready(self, timeout: float) -> None:
        """Until the broker answers a metadata request."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.running():
                raise LocalServiceError(
                    f"Kafka exited during start-up; see {self.process.log_file}"
                )
            if not port_open("127.0.0.1", self.port):
                time.sleep(0.3)
                continue
            try:
                metadata_ready(self.settings)
                return
            except Exception as err:  # the broker is still starting
                last = str(err)
                time.sleep(0.5)
        raise LocalServiceError(
            f"Kafka did not answer within {timeout:.0f}s ({last}); see {self.process.log_file}"
        )

    def stop(self) -> bool:
        return self.process.stop()


def metadata_ready(settings: Settings) -> list[str]:
    """Topics of the cluster; raises unless a broker answered a metadata request."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka_python_kwargs(settings), request_timeout_ms=3000)
    try:
        return list(admin.list_topics())
    finally:
        admin.close()


def create_topics(settings: Settings) -> list[str]:
    """Create turnout.events and its dead-letter topic if missing, with the replication,
    min.insync.replicas and retention of `topic_configs`; returns those created."""
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    check_connection(settings)  # a wrong password is named, not a 30 s "unable to bootstrap"
    admin = KafkaAdminClient(**kafka_python_kwargs(settings))
    try:
        wanted = [t for t in (EVENTS_TOPIC, DLQ_TOPIC) if t not in set(admin.list_topics())]
        if wanted:
            _check_replicas(settings, len(admin.describe_cluster()["brokers"]))
            configs = topic_configs(settings)
            new = {
                t: {"num_partitions": settings.partitions,
                    "replication_factor": settings.replication_factor,
                    "configs": configs[t]}
                for t in wanted
            }  # fmt: skip
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile
                admin.create_topics(new)
        return wanted
    finally:
        admin.close()


def _check_replicas(settings: Settings, brokers: int) -> None:
    """Refuse a topic the cluster cannot replicate as asked, before Kafka half-creates it."""
    if brokers < settings.replication_factor:
        raise ConfigError(
            f"TURNOUT_KAFKA_REPLICATION_FACTOR: {settings.replication_factor} replicas asked but "
            f"the cluster at {settings.bootstrap_servers} has {brokers} broker(s); lower "
            f"TURNOUT_KAFKA_REPLICATION_FACTOR (and TURNOUT_KAFKA_MIN_INSYNC_REPLICAS) to at "
            f"most {brokers}, or add brokers"
        )


class LocalWorker:
    """`turnout worker` run in the background, answering on TURNOUT_API."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        home = settings.home.resolve()
        self.process = Process("worker", home / "worker.pid", home / "logs" / "worker.log")

    def running(self) -> bool:
        return self.process.pid() is not None

    def start(self, timeout: float = 90.0) -> bool:
        if self.running():
            self.wait_ready(timeout)
            return False
        host, port = self.settings.api_host_port
        if port_open(host, port):
            raise LocalServiceError(
                f"{host}:{port} is taken by another process; stop it or set TURNOUT_API"
            )
        env = {**os.environ, **self.settings.to_env()}
        self.process.spawn([sys.executable, "-m", "streams.cli", "worker"], env=env)
        self.wait_ready(timeout)
        return True

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = self.settings.api.rstrip("/") + "/v1/health"
        while time.monotonic() < deadline:
            if not self.running():
                raise LocalServiceError(
                    f"the worker exited during start-up; see {self.process.log_file}"
                )
            try:
                httpx.get(url, timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise LocalServiceError(f"the worker did not answer {url} within {timeout:.0f}s")

    def stop(self) -> bool:
        return self.process.stop()
