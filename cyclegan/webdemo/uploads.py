"""Reading a multipart/form-data request into a job's temporary folder, within the upload limit.

The body is counted as it arrives (a Content-Length over the limit is refused before reading), parsed by
Starlette's multipart parser (python-multipart) with its spool kept in memory, so nothing uploaded is written
anywhere but the job's folder; each file is written there under a name of ours (in0.png, style1.jpg, ...),
never the name the browser sent, which is only shown.
"""
import os
import re
from dataclasses import dataclass

from starlette.formparsers import MultiPartException, MultiPartParser

from .errors import InputError, TooLarge

FILE_FIELDS = {"image": "in", "style_image": "style"}
MAX_FIELDS = 200


@dataclass
class Upload:
    field: str
    shown: str  # the browser's file name, for messages and labels only
    path: str
    size: int


def shown_name(name, index):
    """A file name fit to show: its last path part, printable, at most 80 characters."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    return (base or f"upload {index + 1}")[:80]


def safe_suffix(name):
    suffix = os.path.splitext(str(name or ""))[1].lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"


async def _limited(stream, cap):
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > cap:
            raise TooLarge(f"the upload is over this demo's limit of {cap / 2 ** 20:g} MB (--max_upload_mb)")
        yield chunk


async def read_form(request, folder, limits):
    """({field: [text values]}, [Upload]) of the request, its files written into `folder`."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise InputError("send the fields as multipart/form-data, e.g. curl -F image=@photo.jpg -F model=NAME ...")
    cap = limits.max_upload_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap:
        raise TooLarge(f"the upload is {int(length) / 2 ** 20:.1f} MB, over this demo's limit of {cap / 2 ** 20:g} MB "
                       f"(--max_upload_mb)")
    parser = MultiPartParser(request.headers, _limited(request.stream(), cap), max_files=2 * limits.max_files + 64,
                             max_fields=MAX_FIELDS, max_part_size=64 * 1024)
    parser.spool_max_size = cap + 1  # uploads stay in memory (at most the cap), never spooled to the system's /tmp
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise InputError(f"a malformed form: {e.message}") from None
    fields, uploads = {}, []
    os.makedirs(folder, exist_ok=True)
    try:
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
                continue
            if key not in FILE_FIELDS:
                raise InputError(f"unexpected file field {key!r}: send photos as 'image' and paintings as "
                                 f"'style_image'")
            count = sum(u.field == key for u in uploads)
            path = os.path.join(folder, f"{FILE_FIELDS[key]}{count}{safe_suffix(value.filename)}")
            data = await value.read()
            with open(path, "wb") as f:
                f.write(data)
            uploads.append(Upload(key, shown_name(value.filename, count), path, len(data)))
    finally:
        await form.close()
    return fields, uploads
