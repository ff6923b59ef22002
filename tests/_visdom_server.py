"""Test helper: start a real visdom server (cyclegan-visdom) on a free localhost port, and find
which addresses a port listens on."""
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def repo_env():
    from conftest import run_env
    return run_env()


class VisdomServer:
    """`with VisdomServer(tmp_path) as srv:` runs the server until the block ends."""

    def __init__(self, workdir, port=None, extra=()):
        self.port = port or free_port()
        self.workdir = Path(workdir)
        self.extra = list(extra)
        self.proc = None
        self.log = self.workdir / f"visdom_{self.port}.log"

    def __enter__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "cyclegan.visdom_server", "--port", str(self.port),
               "--env_path", str(self.workdir / "visdom_env"), "--allow_missing_assets", *self.extra]
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=repo_env(), stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"visdom server exited: {self.log.read_text()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"visdom server did not open port {self.port}: {self.log.read_text()}")

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return False

    def client(self, env):
        import warnings

        from visdom import Visdom

        warnings.filterwarnings("ignore", category=DeprecationWarning, module="visdom")
        return Visdom(server="http://127.0.0.1", port=self.port, env=env,
                      use_incoming_socket=False, raise_exceptions=True)


def listening_addresses(port):
    """IPv4/IPv6 addresses (hex, as in /proc/net/tcp*) that listen on `port`; None if unknown."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            return None
        for line in lines:
            parts = line.split()
            addr, p = parts[1].rsplit(":", 1)
            if int(p, 16) == port and parts[3] == "0A":  # 0A = LISTEN
                found.append(addr)
    return found
