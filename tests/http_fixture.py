"""A tiny HTTP server on 127.0.0.1 for testing the download scripts without the internet.

`LocalFileServer` serves byte strings registered per path, honours `Range: bytes=N-`
(206 answers, so curl can resume; 416 past the end), answers 404 for anything unregistered, and can be told
to break a response midway: it announces the full Content-Length, sends the first part
slowly, then closes the connection. Every request's path and Range header is recorded.
"""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        srv = self.server.owner
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append((self.path, rng))
            route = srv.routes.get(self.path)
            breaks = route is not None and route["breaks_left"] > 0
            if breaks:
                route["breaks_left"] -= 1
        if route is None:
            body = b"<html><body>404 Not Found</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data, start = route["data"], 0
        if rng and route["ranges"] and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", route["type"])
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if not breaks:
            self.wfile.write(data[start:])
            return
        # Slow, then broken: send part of the promised body in small pieces and hang up.
        stop = start + route["break_at"]
        step = max(1, (stop - start) // 4)
        for i in range(start, stop, step):
            self.wfile.write(data[i:min(i + step, stop)])
            self.wfile.flush()
            time.sleep(0.05)
        self.close_connection = True


class LocalFileServer:
    """Context manager: `with LocalFileServer() as srv: srv.add("/x.zip", data); srv.url`."""

    def __init__(self):
        self.routes, self.requests, self.lock = {}, [], threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, path, data, content_type="application/octet-stream", break_at=None, ranges=True):
        """Serve `data` at `path`; with break_at, the first request breaks after that many bytes;
        with ranges=False, Range headers are ignored (a full 200 answer, like some mirrors)."""
        self.routes[path] = {"data": data, "type": content_type, "ranges": ranges,
                             "break_at": break_at or 0, "breaks_left": 1 if break_at else 0}

    def requests_for(self, path):
        """The Range header (or None) of each request seen for `path`, in order."""
        with self.lock:
            return [rng for p, rng in self.requests if p == path]

    def __enter__(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
