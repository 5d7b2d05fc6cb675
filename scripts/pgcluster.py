"""The one home of throwaway PostgreSQL servers: a primary, its streaming replicas and a
PgBouncer in front of them, for the tests (tests/conftest.py `pg_cluster`) and
scripts/bench_scale.py.

Each server lives in a temporary folder on a free 127.0.0.1 port, runs as the postgres OS
user (PostgreSQL and PgBouncer refuse to run as root) with the binaries of
`pg_config --bindir`, and is stopped and deleted on exit. A replica is a `pg_basebackup
-R` of the primary streaming from it. The machine's own server (5432) is never touched.

    with cluster(replicas=1, pooler=True) as servers:
        servers.primary.url("news"), servers.replicas[0].url("news"), servers.pooler.url("news")
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

HOST = "127.0.0.1"
OS_USER = "postgres"
# Fast and small: these servers hold test and benchmark data that nobody keeps.
SERVER_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    "max_connections": "200",
    "wal_keep_size": "512MB",
    "logging_collector": "off",
}


def bindir() -> Path:
    done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)  # noqa: S607
    return Path(done.stdout.strip())


def pgbouncer_path() -> str | None:
    """Debian puts it in /usr/sbin, which a user's PATH may leave out."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def missing() -> str | None:
    """What is missing to start these servers here, or None."""
    if shutil.which("pg_config") is None:
        return "pg_config is not on PATH (Debian: postgresql)"
    try:
        binaries = bindir()
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"pg_config --bindir failed: {exc}"
    for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (binaries / name).exists():
            return f"{binaries / name} is missing"
    if pgbouncer_path() is None:
        return "pgbouncer is not on PATH (Debian: pgbouncer)"
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return f"no {OS_USER} OS user to run the servers as"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != OS_USER:
        return f"servers run as the {OS_USER} OS user: run as root or as {OS_USER}"
    return None


def _as_server_user() -> dict[str, Any]:
    """Popen arguments that run a command as the postgres OS user."""
    if os.geteuid() != 0:
        return {}
    return {"user": OS_USER, "group": OS_USER, "extra_groups": []}


def _run(cmd: Sequence[str], timeout: float = 120) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        list(cmd), capture_output=True, text=True, timeout=timeout, **_as_server_user()
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return str(done.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout} s") from None
            time.sleep(0.05)


def url(port: int, database: str, user: str) -> str:
    return f"postgresql+psycopg://{user}@{HOST}:{port}/{database}"


@dataclass
class Postgres:
    """One server: its data folder and port."""

    data: Path
    port: int

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.data.name}.log"

    def start(self) -> None:
        pg_ctl = str(bindir() / "pg_ctl")
        _run([pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """mode: smart, fast (cut the sessions) or immediate (as a crash would)."""
        pg_ctl = str(bindir() / "pg_ctl")
        _run([pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres", user: str = OS_USER) -> str:
        return url(self.port, database, user)

    def sql(self, statement: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement (autocommit) as the superuser; its rows, if any."""
        conninfo = f"host={HOST} port={self.port} dbname={database} user={OS_USER}"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement.encode())
            return list(cursor.fetchall()) if cursor.description else []

    def lsn(self) -> int:
        """The primary's current WAL position, a standby's last replayed one (bytes)."""
        rows = self.sql(
            "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
            "ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint"
        )
        return int(rows[0][0])


@dataclass
class PgBouncer:
    """PgBouncer in transaction pooling mode: `name = host port dbname` entries, and any
    other database name passed to the primary."""

    root: Path
    port: int
    databases: dict[str, tuple[int, str]]  # name: (port, dbname)
    fallback_port: int
    users: Sequence[str]
    pool_size: int = 4
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def ini(self) -> Path:
        return self.root / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.root / "pgbouncer.log"

    def write_config(self) -> None:
        users = self.root / "userlist.txt"
        users.write_text("".join(f'"{user}" ""\n' for user in self.users))
        entries = [
            f"{name} = host={HOST} port={port} dbname={dbname}"
            for name, (port, dbname) in self.databases.items()
        ]
        entries.append(f"* = host={HOST} port={self.fallback_port}")
        self.ini.write_text(
            "[databases]\n"
            + "\n".join(entries)
            + "\n\n[pgbouncer]\n"
            + f"listen_addr = {HOST}\nlisten_port = {self.port}\nunix_socket_dir =\n"
            + f"auth_type = trust\nauth_file = {users}\n"
            + f"pool_mode = transaction\ndefault_pool_size = {self.pool_size}\n"
            + "max_client_conn = 500\nserver_login_retry = 1\n"
            + f"logfile = {self.log}\nadmin_users = {OS_USER}\n"
        )
        if os.geteuid() == 0:
            for path in (users, self.ini):
                shutil.chown(path, OS_USER, OS_USER)

    def start(self) -> None:
        self.write_config()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [pgbouncer_path() or "pgbouncer", str(self.ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            **_as_server_user(),
        )
        _wait_listening(self.port, 30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self, database: str, user: str = OS_USER) -> str:
        return url(self.port, database, user)


@dataclass
class Cluster:
    root: Path
    primary: Postgres
    replicas: list[Postgres] = field(default_factory=list)
    pooler: PgBouncer | None = None

    def wait_replayed(self, replica: Postgres, timeout: float = 30) -> None:
        """Until replica has replayed all the primary had written when this was called."""
        target = self.primary.lsn()
        deadline = time.monotonic() + timeout
        while replica.lsn() < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{replica.data.name} did not replay to {target} in {timeout} s")
            time.sleep(0.02)

    def create_database(self, name: str) -> None:
        self.primary.sql(f'CREATE DATABASE "{name}"')


def _folder(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(path, OS_USER, OS_USER)
    return path


def _configure(server: Postgres, settings: dict[str, str]) -> None:
    lines = [f"{key} = {value}" for key, value in {**SERVER_SETTINGS, **settings}.items()]
    lines += [f"port = {server.port}", f"unix_socket_directories = '{server.data.parent}'"]
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.write("\n# scripts/pgcluster.py\n" + "\n".join(lines) + "\n")


def start_primary(root: Path, settings: dict[str, str] | None = None) -> Postgres:
    server = Postgres(_folder(root, "primary"), free_port())
    _run(
        [
            str(bindir() / "initdb"),
            "-D",
            str(server.data),
            "-U",
            OS_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    _configure(server, settings or {})
    server.start()
    return server


def start_replica(primary: Postgres, root: Path, name: str) -> Postgres:
    """A streaming replica of primary: pg_basebackup -R, then its own port."""
    server = Postgres(_folder(root, name), free_port())
    _run(
        [
            str(bindir() / "pg_basebackup"),
            "-h",
            HOST,
            "-p",
            str(primary.port),
            "-U",
            OS_USER,
            "-D",
            str(server.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        ]
    )
    _configure(server, {})
    server.start()
    return server


@contextmanager
def cluster(
    replicas: int = 1,
    *,
    pooler: bool = True,
    users: Sequence[str] = (OS_USER,),
    settings: dict[str, str] | None = None,
    pool_size: int = 4,
) -> Iterator[Cluster]:
    """A primary, `replicas` streaming replicas and (pooler) a PgBouncer with an entry
    `<db>_replica<N>` per replica for the databases named later: see `add_database`."""
    root = Path(tempfile.mkdtemp(prefix="news-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, OS_USER, OS_USER)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, True)
        primary = start_primary(root, settings)
        stack.callback(_stop_quietly, primary)
        made = Cluster(root, primary)
        for i in range(1, replicas + 1):
            replica = start_replica(primary, root, f"replica{i}")
            stack.callback(_stop_quietly, replica)
            made.replicas.append(replica)
        if pooler:
            made.pooler = PgBouncer(root, free_port(), {}, primary.port, users, pool_size)
            made.pooler.start()
            stack.callback(made.pooler.stop)
        yield made


def add_database(servers: Cluster, name: str) -> None:
    """Create database `name` on the primary, and PgBouncer entries `name` (the primary)
    and `name_replicaN` (each replica) for it; PgBouncer rereads its configuration."""
    servers.create_database(name)
    if servers.pooler is None:
        return
    servers.pooler.databases[name] = (servers.primary.port, name)
    for i, replica in enumerate(servers.replicas, start=1):
        servers.pooler.databases[f"{name}_replica{i}"] = (replica.port, name)
    servers.pooler.write_config()
    if servers.pooler.process is not None:
        servers.pooler.process.send_signal(signal.SIGHUP)  # reread the configuration
        conninfo = f"host={HOST} port={servers.pooler.port} dbname={name} user={OS_USER}"
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(conninfo, connect_timeout=2).close()
                return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _stop_quietly(server: Postgres) -> None:
    if server.running:
        with suppress(RuntimeError, subprocess.SubprocessError):
            server.stop("immediate")
