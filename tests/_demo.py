"""What the demo tests share: a checkpoints folder of tiny models saved here (a CycleGAN run, a fast-NST run, an
official-layout generator, a broken one), a decompression-bomb PNG, and the real server started as a subprocess."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib

from conftest import REPO, run_env


def make_checkpoints(root):
    """CHECKPOINTS with tiny/ (a CycleGAN run: G_A, G_B, train_opt.json), fast/ (a fast-NST run), official/
    (an official latest_net_G.pth) and broken/ (a latest_net_G.pth that is not a PyTorch file). Random weights:
    the demo only needs nets that load and run."""
    import torch
    from cyclegan.models.generators import define_G
    from cyclegan.nst.transformer import TransformerNet
    for sub in ("tiny", "fast", "official", "broken"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for seed, side in enumerate("AB"):
        torch.manual_seed(seed)
        torch.save(define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict(),
                   os.path.join(root, "tiny", f"latest_net_G_{side}.pth"))
    with open(os.path.join(root, "tiny", "train_opt.json"), "w") as f:
        json.dump({"netG": "resnet_6blocks", "ngf": 4, "norm": "instance", "no_dropout": True, "direction": "AtoB"}, f)
    torch.manual_seed(2)
    torch.save(TransformerNet(ngf=4, n_res=1).state_dict(), os.path.join(root, "fast", "latest_net_T.pth"))
    torch.save(define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict(),
               os.path.join(root, "official", "latest_net_G.pth"))
    with open(os.path.join(root, "broken", "latest_net_G.pth"), "wb") as f:
        f.write(b"this is not a PyTorch file")
    return root


def bomb_png(path, width, height):
    """A ~200-byte PNG whose header claims width x height pixels (its data is short: it never decodes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 4096)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def multipart(parts):
    """(body, content type) of [(field, filename or None, bytes)]."""
    boundary = "----demo-test-boundary"
    out = b""
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(url, parts, timeout=300):
    """(status, content type, body bytes) of a multipart POST (parts as multipart takes them)."""
    body, ctype = multipart(parts)
    request = urllib.request.Request(url, data=body, headers={"Content-Type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def get_json(url, method="GET", timeout=60):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m cyclegan.demo` on a free port with TMPDIR set to `tmpdir` (so every temporary file it makes is
    there); its output goes to a log file."""

    def __init__(self, tmp, checkpoints, *args, startup_s=240, env=None):
        self.tmpdir = tmp / "tmpdir"
        self.tmpdir.mkdir(exist_ok=True)
        self.log_path = tmp / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**run_env(), "TMPDIR": str(self.tmpdir), **(env or {})}
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "cyclegan.demo", "--port", str(self.port),
                                      "--checkpoints_dir", str(checkpoints), *map(str, args)],
                                     cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + startup_s
        while True:
            assert self.proc.poll() is None, f"the demo exited with {self.proc.returncode}:\n{self.output()}"
            try:
                with urllib.request.urlopen(self.url + "/api/info", timeout=5) as r:
                    self.info = json.loads(r.read())
                break
            except OSError:
                assert time.monotonic() < end, f"the demo did not answer in {startup_s} s:\n{self.output()}"
                time.sleep(0.5)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def temp_folder(self):
        """The temporary folder the server said it uses."""
        for line in self.output().splitlines():
            if "temporary folder " in line:
                return line.rsplit("temporary folder ", 1)[1].strip()
        raise AssertionError(f"the demo did not name its temporary folder:\n{self.output()}")

    def stop(self, sig=signal.SIGINT, timeout=60):
        """Send `sig`, wait for the exit; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"the demo did not stop within {timeout} s of {sig!r}:\n{self.output()}")
        self.log.close()
        return self.proc.returncode
