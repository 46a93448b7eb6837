"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, pg_ctl
start on a free 127.0.0.1 port with its unix socket in the same dir,
stopped by PID at the end.  Debian's `postgresql` package provides the
binaries (/usr/lib/postgresql/*/bin); without them this raises, so a test
that needs PostgreSQL fails loudly instead of skipping.  As root the
cluster runs as the `postgres` user (initdb refuses root)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from helpers.ports import free_port

SUPERUSER = "zonefront"


class NoPostgres(RuntimeError):
    pass


def pg_bindir() -> str:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise NoPostgres("no PostgreSQL server binaries (initdb, pg_ctl) in "
                     "/usr/lib/postgresql/*/bin or on PATH: apt-get install -y postgresql")


class Cluster:
    def __init__(self) -> None:
        self.bindir = pg_bindir()
        self.root = tempfile.mkdtemp(prefix="zonefront-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.port = free_port()
        self.pid: int | None = None
        self.runas: list[str] = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise NoPostgres("running as root needs the 'postgres' user (created by "
                                 "Debian's postgresql package) to own the test cluster")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)
            self.runas = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv: str) -> None:
        r = subprocess.run(self.runas + list(argv), capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise NoPostgres(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    def start(self) -> "Cluster":
        self._run(f"{self.bindir}/initdb", "-D", self.datadir, "-U", SUPERUSER, "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        log = os.path.join(self.root, "server.log")
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200 -c fsync=on -c synchronous_commit=on")
        self._run(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-l", log, "-o", opts, "-w",
                  "-t", "60", "start")
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        return self

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    os.kill(self.pid, 0)
                    time.sleep(0.05)
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.root, ignore_errors=True)
