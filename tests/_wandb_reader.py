"""Read an offline W&B run back (tests only): the run-<id>.wandb file is a LevelDB-style log (a 7-byte file header
':W&B', magic 0xBEE1, version 0; then 32 KiB blocks of records, each with a 7-byte header: CRC32, length, type
full/first/middle/last) whose payloads are wandb_internal_pb2.Record messages. wandb 0.31 ships no Python reader
of its own, so this one reads the format; it needs only wandb's protobuf classes."""
import json
import struct
import time
from pathlib import Path

BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def payloads(path):
    """The records' byte strings, in the order written."""
    data = Path(path).read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:7])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), f"{path}: not a W&B run file ({ident!r}, {magic:#x})"
    pos, parts = 7, []
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:  # zero padding at the end of a block
            pos += left
            continue
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            parts = [chunk]
        elif kind == MIDDLE:
            parts.append(chunk)
        elif kind == LAST:
            yield b"".join(parts + [chunk])
            parts = []


def read_run(run_dir, wait=30.0):
    """{"project", "name", "config": {key: value}, "history": [{key: value}] (nested keys joined by '/'),
    "finished": whether the run ended, "files": run_dir/files} of an offline-run-* folder. W&B's service process
    writes the file after run.finish() returns, so this reads again until the run's exit record is there (at most
    `wait` seconds; then it returns what it found, with finished False)."""
    deadline = time.monotonic() + wait
    while True:
        out = read_once(run_dir)
        if out["finished"] or time.monotonic() > deadline:
            return out
        time.sleep(0.2)


def read_once(run_dir):
    from wandb.proto import wandb_internal_pb2 as pb

    run_dir = Path(run_dir)
    (path,) = run_dir.glob("run-*.wandb")
    out = {"project": None, "name": None, "config": {}, "history": [], "finished": False, "files": run_dir / "files"}
    for raw in payloads(path):
        rec = pb.Record()
        rec.ParseFromString(raw)
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            out["history"].append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                   for item in rec.history.item})
        elif kind == "run":
            out["project"], out["name"] = rec.run.project, rec.run.display_name
            out["config"].update((item.key, json.loads(item.value_json)) for item in rec.run.config.update)
        elif kind == "config":
            out["config"].update((item.key, json.loads(item.value_json)) for item in rec.config.update)
        elif kind == "exit":
            out["finished"] = True
    return out
