"""Check that files are usable PyTorch state dicts: `python -m cyclegan.verify_weights FILE...`.

Used by scripts/download_cyclegan_model.sh before a downloaded generator is put in place.
Each file is first sniffed (a torch.save file is a zip archive, or a pickle for the legacy
format), so an HTML error page or a truncated download gets a plain explanation; it is
then loaded with weights_only=True through `cyclegan.io.load_state_dict_file`, which
refuses anything that is not a mapping of names to tensors or would need code to unpickle.
Exit 0 and one summary line per file when all pass; exit 1 with the reason otherwise.
"""
import argparse
import sys
import zipfile

from cyclegan.cli import main_guard
from cyclegan.io import CheckpointError, load_state_dict_file

PICKLE_PROTO = b"\x80"  # legacy (non-zip) torch.save files open with the pickle PROTO opcode


def sniff(path):
    """Raise CheckpointError when `path` cannot be a torch.save file, saying what it looks like."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror})") from None
    if not head:
        raise CheckpointError(f"{path}: the file is empty (an interrupted download?)")
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise CheckpointError(f"{path}: a truncated or corrupt PyTorch file ({e}); download it again") from None
        if bad is not None:
            raise CheckpointError(f"{path}: a corrupt PyTorch file (bad CRC in {bad}); download it again")
        return
    if head.startswith(PICKLE_PROTO):
        return
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise CheckpointError(f"{path}: an HTML/XML page (a server error or login page?), not a PyTorch file")
    preview = head[:40].decode("utf-8", "replace").splitlines()[0] if head.strip() else "blank"
    raise CheckpointError(f"{path}: not a PyTorch file (it starts with {preview!r})")


def summarize(path):
    """Return (number of tensors, number of values) in the state dict at `path`; raise CheckpointError."""
    sniff(path)
    try:
        sd = load_state_dict_file(path)
    except OSError as e:  # torch's zip reader reports some damaged files as a bare OSError
        raise CheckpointError(f"{path}: not a readable PyTorch file (corrupt or truncated?): {e}") from None
    return len(sd), sum(t.numel() for t in sd.values())


@main_guard
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cyclegan.verify_weights",
                                     description="Check that each FILE is a PyTorch state dict of tensors.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    ok = True
    for path in args.files:
        try:
            tensors, values = summarize(path)
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            ok = False
            continue
        print(f"{path}: OK, a state dict of {tensors} tensors holding {values} values")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
