"""The demo under load: N POST /api/stylize requests from C client threads against a running `cyclegan-demo`,
every k-th one bad (a text file sent as the image), counted by answer; the server's peak RSS read from /proc.

    cyclegan-benchmark demo_load --url http://127.0.0.1:7860 --image photo.jpg --model NAME [--pid PID]

A good answer is 200 (a PNG) or 429 (the queue is full, with a Retry-After header); a bad request is 400 with a
JSON reason; any 5xx or a 429 without Retry-After is a fault. Prints one JSON line of counts.
"""
import concurrent.futures
import json
import time
import urllib.error
import urllib.request
import uuid


def _multipart(fields, image_name, image_bytes):
    boundary = "----cyclegan-load-" + uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{image_name}"\r\n\r\n'
             .encode() + image_bytes + b"\r\n" + f"--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def post_stylize(url, fields, image_name, image_bytes, timeout=600):
    """(status, headers, body) of one POST /api/stylize."""
    body, ctype = _multipart(fields, image_name, image_bytes)
    request = urllib.request.Request(url.rstrip("/") + "/api/stylize", data=body, method="POST",
                                     headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def peak_rss_mb(pid):
    """The process's peak resident memory (VmHWM) in MB, or None where /proc does not have it."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def run(url, image, model, requests=100, clients=16, bad_every=5, pid=None):
    """Send the requests; returns a dict of counts (see the module docstring) and prints it as one JSON line."""
    with open(image, "rb") as f:
        good = f.read()
    bad = b"this is a text file, not an image"

    def one(i):
        is_bad = bad_every and i % bad_every == bad_every - 1
        status, headers, body = post_stylize(url, {"model": model}, "notes.txt" if is_bad else "photo.jpg",
                                             bad if is_bad else good)
        return is_bad, status, headers, body

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(one, range(requests)))
    counts = {"requests": requests, "clients": clients, "bad_sent": sum(a[0] for a in answers),
              "translated": 0, "busy_429": 0, "busy_without_retry_after": 0, "bad_400_with_reason": 0,
              "server_5xx": 0, "other": 0, "retry_after_s": [], "seconds": 0.0}
    for is_bad, status, headers, body in answers:
        if status == 200 and not is_bad:
            counts["translated"] += 1
        elif status == 429:
            counts["busy_429"] += 1
            retry = {k.lower(): v for k, v in headers.items()}.get("retry-after")
            if retry is None or not retry.isdigit():
                counts["busy_without_retry_after"] += 1
            else:
                counts["retry_after_s"].append(int(retry))
        elif status == 400 and is_bad and json.loads(body).get("error"):
            counts["bad_400_with_reason"] += 1
        elif status >= 500:
            counts["server_5xx"] += 1
        else:
            counts["other"] += 1
    retries = counts.pop("retry_after_s")
    counts["retry_after_range_s"] = [min(retries), max(retries)] if retries else None
    counts["seconds"] = round(time.perf_counter() - start, 1)
    counts["server_peak_rss_mb"] = peak_rss_mb(pid) if pid else None
    print(json.dumps(counts), flush=True)
    return counts
