"""The Thunder Compute REST API as a local HTTP server for tests (http.server in a thread on
127.0.0.1, port 0), with the request and reply shapes of thunder-cli dc01ad30
(api/client.go, pkg/types/types.go):

  GET  /v1/pricing                      {"pricing": {"a6000_x1_prototyping": 0.35, ...}} (public)
  POST /v1/instances/create             {mode, gpu_type, num_gpus, cpu_cores, template,
                                         disk_size_gb} -> {uuid, key, identifier}
  GET  /v1/instances/list               {"<id>": InstanceListItem, ...}
  POST /v1/instances/<id>/add_key       {uuid, key, success}
  POST /v1/instances/<id>/delete        200, or 404 {"message": ...}

Everything but /v1/pricing needs `Authorization: Bearer <token>`, else 401. Instances go
PROVISIONING -> STARTING -> RUNNING (with an ip and port) over `ready_after` list calls;
fail="stopped" sends them to STOPPED instead, fail="nokey" makes add_key fail.
"""

from __future__ import annotations

import json
import re
import threading
import uuid as uuidlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

PRICING = {
    "a6000_x1_prototyping": 0.35, "a100xl_x1_prototyping": 0.78, "h100_x1_prototyping": 1.38,
    "h100_x2_prototyping": 2.76, "a100xl_x1_production": 1.79, "h100_x1_production": 2.49,
    "h100_x4_production": 9.96, "additional_vcpus": 0.06, "disk_gb": 0.0003,
    "ephemeral_disk_gb": 0.0002,
}
GPUS = {"a6000", "a100xl", "h100"}


@dataclass
class ThunderState:
    token: str
    ssh_port: int = 22
    private_key: str = ""
    ready_after: int = 2
    fail: str = ""
    instances: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, authorised
    next_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: ThunderState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _reply(self, code: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def _route(self, method: str) -> None:
            path = self.path.split("?")[0]
            authorised = self.headers.get("Authorization") == f"Bearer {state.token}"
            with state.lock:
                state.calls.append((method, path, authorised))
                if method == "GET" and path == "/v1/pricing":
                    return self._reply(200, {"pricing": PRICING})
                if not authorised:
                    return self._reply(401, {"message": "Unauthorized"})
                if method == "POST" and path == "/v1/instances/create":
                    return self._create(self._body())
                if method == "GET" and path == "/v1/instances/list":
                    return self._list()
                m = re.fullmatch(r"/v1/instances/([^/]+)/(add_key|delete)", path)
                if method == "POST" and m:
                    inst = state.instances.get(m.group(1))
                    if inst is None:
                        return self._reply(404, {"message": "instance not found"})
                    if m.group(2) == "delete":
                        del state.instances[m.group(1)]
                        return self._reply(200, {"message": "deleted"})
                    if state.fail == "nokey" or inst["status"] != "RUNNING":
                        return self._reply(200, {"uuid": inst["uuid"], "success": False,
                                                 "message": "instance not ready for keys"})
                    return self._reply(200, {"uuid": inst["uuid"], "key": state.private_key,
                                             "success": True})
                return self._reply(404, {"message": f"no route {method} {path}"})

        def _create(self, body: dict) -> None:
            need = {"mode": str, "gpu_type": str, "num_gpus": int, "cpu_cores": int,
                    "template": str, "disk_size_gb": int}
            for key, kind in need.items():
                if not isinstance(body.get(key), kind):
                    return self._reply(400, {"message": f"{key} is required ({kind.__name__})"})
            if body["mode"] not in ("prototyping", "production"):
                return self._reply(400, {"message": "mode must be prototyping or production"})
            if body["gpu_type"] not in GPUS:
                return self._reply(400, {"message": f"unknown gpu_type {body['gpu_type']}"})
            ident = state.next_id
            state.next_id += 1
            uuid = str(uuidlib.uuid4())
            state.instances[str(ident)] = {
                "ip": None, "name": f"instance-{ident}", "status": "PROVISIONING",
                "createdAt": "2026-12-05T06:00:00Z", "uuid": uuid,
                "storage": body["disk_size_gb"], "cpuCores": str(body["cpu_cores"]),
                "template": body["template"], "gpuType": body["gpu_type"],
                "numGpus": str(body["num_gpus"]), "memory": "32", "promoted": False,
                "mode": body["mode"], "port": 0, "k8s": False, "_polls": 0}
            return self._reply(200, {"uuid": uuid, "key": "", "identifier": ident})

        def _list(self) -> None:
            shown = {}
            for ident, inst in state.instances.items():
                inst["_polls"] += 1
                if inst["status"] in ("PROVISIONING", "STARTING"):
                    if inst["_polls"] >= state.ready_after:
                        if state.fail == "stopped":
                            inst["status"] = "STOPPED"
                        else:
                            inst.update(status="RUNNING", ip="127.0.0.1", port=state.ssh_port)
                    elif inst["_polls"] >= 1:
                        inst["status"] = "STARTING"
                shown[ident] = {k: v for k, v in inst.items() if not k.startswith("_")}
            return self._reply(200, shown)

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

    return Handler


class ThunderApi:
    def __init__(self, state: ThunderState):
        self.state = state
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=30)
