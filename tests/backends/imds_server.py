"""A small HTTP server on loopback that plays the EC2 instance metadata service the IMDSv2
way: PUT /latest/api/token hands out a session token, and every metadata GET without that
token is refused (401), as on an instance with HttpTokens=required. The spot
instance-action answers 404 until `interrupt()` is called, as before a real notice.

It also answers GET /checkip with an address, like https://checkip.amazonaws.com, and counts
(and refuses) AWS API calls POSTed to it, so a test can tell that none was made.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHECKIP_ADDRESS = "198.51.100.23"


class Imds:
    def __init__(self):
        self.token = secrets.token_hex(16)
        self.notice: dict | None = None
        self.log: list[tuple[str, str, bool]] = []  # (method, path, had a valid token)
        self._lock = threading.Lock()
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _reply(self, code: int, body: str = "") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                ok = self.path == "/latest/api/token" and \
                    self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "").isdigit()
                imds._record("PUT", self.path, ok)
                self._reply(200, imds.token) if ok else self._reply(400)

            def do_POST(self):  # an AWS API call sent here: counted, refused without retry
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                imds._record("POST", self.path, False)
                self._reply(400, "not an AWS endpoint")

            def do_GET(self):
                if self.path == "/checkip":
                    return self._reply(200, CHECKIP_ADDRESS + "\n")
                valid = self.headers.get("X-aws-ec2-metadata-token") == imds.token
                imds._record("GET", self.path, valid)
                if not valid:
                    return self._reply(401)
                if self.path == "/latest/meta-data/spot/instance-action" and imds.notice:
                    return self._reply(200, json.dumps(imds.notice))
                self._reply(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, method: str, path: str, ok: bool) -> None:
        with self._lock:
            self.log.append((method, path, ok))

    def requests(self) -> list[tuple[str, str, bool]]:
        with self._lock:
            return list(self.log)

    def interrupt(self) -> None:
        self.notice = {"action": "terminate", "time": "2026-12-05T06:00:00Z"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
