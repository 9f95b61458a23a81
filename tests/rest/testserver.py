"""Start and stop a throwaway Parse Server on PostgreSQL/PostGIS for the REST tests.

Used by tests/conftest.py (session fixture) and bench/rest.py. Everything
lives under one temp dir (cluster, sockets, logs) and is removed on stop; both
processes get SIGTERM, then SIGKILL after ~10 s, so nothing is left behind.

    python3 tests/rest/testserver.py      # start one by hand, print its URL, Ctrl-C stops it
"""
from __future__ import annotations

import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import requests

SERVER_DIR = Path(__file__).resolve().parent / "server"
PG_BIN = Path(os.environ.get("CQL_PG_BIN", "/usr/lib/postgresql/15/bin"))
APP_ID = "testapp"
MASTER_KEY = "testmaster"
REST_KEY = "testrest"
MAINTENANCE_KEY = "testmaintenance"  # Parse Server's maintenanceKey (not on the strict server)
STRICT_APP_ID = "strictapp"          # the strict server: Parse Server's defaults (no custom objectIds)


class ServerStartError(RuntimeError):
    """The test server could not be started; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: List[str]) -> List[str]:
    """Postgres refuses to run as root: run its tools as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _terminate(proc: Optional[subprocess.Popen]) -> None:
    """SIGTERM a node process group, SIGKILL after 10 s."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


class TestServer:
    """A PostgreSQL cluster plus a Parse Server node process: /parse (custom
    objectIds and a maintenance key allowed) and /1.1 (the LeanCloud flavor of
    the same app, with the scan API); on demand (start_strict) a second process
    with Parse Server's defaults, for an app in a database of its own."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.dir: Optional[Path] = None
        self.pg_port = 0
        self.port = 0
        self.node: Optional[subprocess.Popen] = None
        self.strict_port = 0
        self.strict_node: Optional[subprocess.Popen] = None
        self.pg_started = False

    # -- public -----------------------------------------------------------------
    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def parse_url(self) -> str:
        return f"{self.root}/parse"

    def start(self) -> "TestServer":
        atexit.register(self.stop)
        try:
            self._check_installed()
            self._start_postgres()
            self.start_parse()
        except BaseException:
            self.stop()
            raise
        return self

    def start_parse(self, timeout: float = 60.0) -> None:
        """Spawn the node process and wait until /parse/health is 200."""
        if not self.port:
            self.port = free_port()
        self.node = self._spawn(self.port, "parse", timeout, APP_ID=APP_ID, MAINTENANCE_KEY=MAINTENANCE_KEY,
                                DATABASE="parse")

    def start_strict(self, timeout: float = 60.0) -> str:
        """A second Parse Server process (app STRICT_APP_ID, database
        parse_strict) with Parse Server's defaults: no custom objectIds, no
        maintenance key. Started on first call; returns its API root URL."""
        if self.strict_node is None or self.strict_node.poll() is not None:
            self.strict_port = free_port()
            self.strict_node = self._spawn(self.strict_port, "strict", timeout, APP_ID=STRICT_APP_ID,
                                           PARSE_DEFAULTS="1", DATABASE="parse_strict")
        return self.strict_url

    @property
    def strict_url(self) -> str:
        return f"http://127.0.0.1:{self.strict_port}/parse"

    def _spawn(self, port: int, name: str, timeout: float, DATABASE: str, **settings: str) -> subprocess.Popen:
        assert self.dir is not None
        stop_pg = " ".join(shlex.quote(a) for a in _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "pgdata"), "-m", "immediate", "-w", "stop"]))
        orphan = f"{stop_pg}; rm -rf {shlex.quote(str(self.dir))}"
        env = dict(os.environ, WATCH_PID=str(os.getpid()), ON_ORPHAN=orphan, PORT=str(port), MASTER_KEY=MASTER_KEY,
                   REST_KEY=REST_KEY, NODE_NO_WARNINGS="1", LOGS_FOLDER=str(self.dir / f"{name}-logs"),
                   PARSE_SERVER_LOGS_FOLDER=str(self.dir / f"{name}-logs"),
                   DATABASE_URI=f"postgres://postgres@127.0.0.1:{self.pg_port}/{DATABASE}", **settings)
        log_path = self.dir / f"{name}.log"
        log = open(log_path, "ab")
        node = subprocess.Popen(["node", str(SERVER_DIR / "server.js")], cwd=str(SERVER_DIR),
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.poll() is not None:
                raise ServerStartError(f"parse-server ({name}) exited with {node.returncode}:\n" + _tail(log_path))
            try:
                if requests.get(f"http://127.0.0.1:{port}/parse/health", timeout=1).status_code == 200:
                    return node
            except requests.RequestException:
                pass
            time.sleep(0.1)
        _terminate(node)
        raise ServerStartError(f"parse-server ({name}) did not become healthy in {timeout:.0f} s:\n"
                               + _tail(log_path))

    def stop_parse(self) -> None:
        """SIGTERM the node process, SIGKILL it after 10 s."""
        proc, self.node = self.node, None
        _terminate(proc)

    def stop(self) -> None:
        self.stop_parse()
        proc, self.strict_node = self.strict_node, None
        _terminate(proc)
        if self.pg_started and self.dir is not None:
            self._stop_postgres()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "TestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------
    def _check_installed(self) -> None:
        missing = []
        if not (PG_BIN / "initdb").exists():
            missing.append(f"PostgreSQL 15 ({PG_BIN}/initdb)")
        if not Path("/usr/share/postgresql/15/extension/postgis.control").exists():
            missing.append("PostGIS (postgresql-15-postgis-3)")
        if not (SERVER_DIR / "node_modules" / "parse-server").exists():
            missing.append("parse-server (node_modules)")
        if shutil.which("node") is None:
            missing.append("node")
        if missing:
            raise ServerStartError("the REST test server is not installed: missing " + ", ".join(missing)
                                   + f"; run {SERVER_DIR / 'setup.sh'} (scripts/test does)")

    def _run(self, cmd: List[str], what: str) -> None:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=120)
        if proc.returncode != 0:
            raise ServerStartError(f"{what} failed ({proc.returncode}): "
                                   + proc.stdout.decode(errors="replace")[-2000:])

    def _start_postgres(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cql-parse-"))
        os.chmod(self.dir, 0o755)
        pgdata, sock = self.dir / "pgdata", self.dir / "pgsock"
        sock.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(sock, "postgres")
        self._run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres",
                                "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]), "initdb")
        self.pg_port = free_port()
        opts = (f"-p {self.pg_port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        self._run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-l",
                                str(self.dir / "postgres.log"), "-w", "-t", "60", "-o", opts, "start"]),
                  "pg_ctl start")
        self.pg_started = True
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.pg_port),
                "-U", "postgres"]
        self._run(psql + ["-c", "create database parse"], "create database")
        self._run(psql + ["-c", "create database parse_strict"], "create database")
        for db in ("parse", "parse_strict"):
            self._run(psql + ["-d", db, "-c", "create extension if not exists postgis"], "create extension postgis")

    def _stop_postgres(self) -> None:
        assert self.dir is not None
        pgdata = self.dir / "pgdata"
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w",
                                     "-t", "10", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        pidfile = pgdata / "postmaster.pid"
        if pidfile.exists():  # pg_ctl did not manage: kill the postmaster (and so its children)
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
        self.pg_started = False


def connect(server: "TestServer", flavor: str = "parse", master: bool = True, **options):
    """A cql connection to the test server (master key unless ``master=False``)."""
    import cql
    url = server.parse_url if flavor == "parse" else server.root
    creds = {"master_key": MASTER_KEY} if master else {"rest_key": REST_KEY}
    options.setdefault("dialect", "parse-postgres")
    return cql.connect(url, app_id=APP_ID, flavor=flavor, **creds, **options)


if __name__ == "__main__":
    server = TestServer().start()
    print(f"Parse Server at {server.parse_url} (LeanCloud flavor at {server.root}/1.1)")
    print(f"app id {APP_ID}, REST key {REST_KEY}, master key {MASTER_KEY}, maintenance key {MAINTENANCE_KEY} "
          "(custom objectIds allowed); Ctrl-C stops it")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
