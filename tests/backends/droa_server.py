"""A DeepRacer on AWS REST API on 127.0.0.1 for tests: a real HTTP server in a thread that
checks every request's SigV4 signature with botocore (recomputed from the request, as API
Gateway's IAM auth does) and plays the solution's model lifecycle:

    CreateModel  POST  /models            -> QUEUED, then INITIALIZING, IN_PROGRESS, COMPLETED
    GetModel     GET   /models/{id}       -> each call advances the job one step; while it is
                                             IN_PROGRESS the metrics file grows by `per_poll`
    StopModel    PATCH /models/{id}       -> STOPPING (refused while INITIALIZING, as DRoA does)
    ImportModel  POST  /importmodel       -> checks the uploaded keys in S3, IMPORTING -> READY

Shapes and messages follow the solution's Smithy model and handlers (aws-solutions/
deepracer-on-aws v1.2.5). The training metrics are served at a presigned-style URL, as the
real GetModel returns an S3 presigned URL.
"""

from __future__ import annotations

import datetime
import hmac
import json
import re
import secrets
import string
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")
PRESIGN_TOKEN = "presign-token-that-must-never-be-written"
_MODEL_ID = re.compile(r"^/models/([A-Za-z0-9]{15})$")


@dataclass
class Job:
    model_id: str
    definition: dict[str, Any]
    status: str = "QUEUED"  # ModelStatus
    training: str = "QUEUED"  # JobStatus
    served: int = 0  # metrics records visible so far
    gets: int = 0
    import_path: str | None = None


@dataclass
class DroaServer:
    credentials: dict[str, tuple[str, str | None]]  # access key -> (secret, session token)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    region: str = "us-east-1"
    per_poll: int = 10
    s3_endpoint: str | None = None
    fail_next: list[tuple[int, str]] = field(default_factory=list)  # injected errors
    jobs: dict[str, Job] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # accepted ones
    rejected: list[tuple[str, str, int]] = field(default_factory=list)
    metric_fetches: int = 0

    def start(self) -> DroaServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                server._handle(self, "GET")

            def do_POST(self):
                server._handle(self, "POST")

            def do_PATCH(self):
                server._handle(self, "PATCH")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        return self

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    # -- SigV4, as API Gateway checks it ---------------------------------------------------
    def _verify(self, h: BaseHTTPRequestHandler, method: str, body: bytes) -> str | None:
        """None if the signature is right, else API Gateway's message."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = h.headers.get("Authorization")
        if not auth:
            return "Missing Authentication Token"
        m = _AUTH.match(auth)
        if not m:
            return "Authorization header requires 'Credential', 'SignedHeaders', 'Signature'"
        key, day, region, service, signed, signature = m.groups()
        if key not in self.credentials:
            return "The security token included in the request is invalid."
        if region != self.region or service != "execute-api":
            return "Credential should be scoped to a valid region and service 'execute-api'"
        amz_date = h.headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.UTC)
        except ValueError:
            return "Authorization header requires existence of either a 'X-Amz-Date' header"
        now = datetime.datetime.now(datetime.UTC)
        if abs((now - when).total_seconds()) > 300 or amz_date[:8] != day:
            return "Signature expired"
        secret, token = self.credentials[key]
        names = signed.split(";")
        if token is not None and ("x-amz-security-token" not in names
                                  or h.headers.get("X-Amz-Security-Token") != token):
            return "The security token included in the request is invalid."
        headers = {n: h.headers.get(n, "") for n in names}
        request = AWSRequest(method=method, url=f"http://{h.headers['Host']}{h.path}",
                             data=body, headers=headers)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(key, secret, token), "execute-api", region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, signature):
            return ("The request signature we calculated does not match the signature you "
                    "provided. Check your AWS Secret Access Key and signing method.")
        return None

    # -- routes ----------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = urlsplit(h.path).path
        if method == "GET" and path.startswith("/metrics/"):
            return self._metrics(h, path)
        problem = self._verify(h, method, body)
        if problem:
            self.rejected.append((method, path, 403))
            return _reply(h, 403, {"message": problem})
        with self._lock:
            if self.fail_next:
                status, message = self.fail_next.pop(0)
                self.rejected.append((method, path, status))
                return _reply(h, status, {"message": message})
            try:
                payload = json.loads(body) if body else None
            except ValueError:
                return _reply(h, 400, {"message": "body is not JSON"})
            self.requests.append((method, path, payload))
            status = self._route(h, method, path, payload)
            if status >= 400:
                self.rejected.append((method, path, status))

    def _route(self, h, method: str, path: str, payload) -> int:
        if method == "POST" and path == "/models":
            return self._create(h, payload)
        if method == "POST" and path == "/importmodel":
            return self._import(h, payload)
        m = _MODEL_ID.match(path)
        job = self.jobs.get(m.group(1)) if m else None
        if job is None:
            return _reply(h, 404, {"message": "Model not found."})
        if method == "GET":
            return self._get(h, job)
        if method == "PATCH":
            return self._stop(h, job)
        return _reply(h, 404, {"message": "Not Found"})

    def _new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits
        return "".join(secrets.choice(alphabet) for _ in range(15))

    def _create(self, h, payload) -> int:
        d = (payload or {}).get("modelDefinition")
        required = ("name", "carCustomization", "trainingConfig", "metadata")
        if not isinstance(d, dict) or any(k not in d for k in required):
            return _reply(h, 400, {"message": "1 validation error detected: modelDefinition"})
        job = Job(self._new_id(), d)
        self.jobs[job.model_id] = job
        return _reply(h, 200, {"modelId": job.model_id})

    def _advance(self, job: Job) -> None:
        job.gets += 1
        if job.import_path is not None:
            if job.gets >= 2:
                job.status = "READY"
            return
        if job.training == "QUEUED" and job.gets >= 2:
            job.training, job.status = "INITIALIZING", "TRAINING"
        elif job.training == "INITIALIZING":
            job.training = "IN_PROGRESS"
        elif job.training == "IN_PROGRESS":
            if job.served >= len(self.metrics):
                job.training, job.status = "COMPLETED", "READY"
            else:
                job.served = min(len(self.metrics), job.served + self.per_poll)
        elif job.training == "STOPPING":
            job.training, job.status = "COMPLETED", "READY"

    def _get(self, h, job: Job) -> int:
        self._advance(job)
        query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261205"
                 f"&X-Amz-Security-Token={PRESIGN_TOKEN}&X-Amz-Signature={'0' * 64}")
        model = {
            "modelId": job.model_id, "createdAt": "2026-12-05T06:00:00Z", "fileSizeInBytes": 0,
            "status": job.status, "trainingStatus": job.training,
            "trainingMetricsUrl": f"{self.url}/metrics/{job.model_id}/TrainingMetrics.json?{query}",
            **{k: v for k, v in job.definition.items() if k != "description"},
        }
        return _reply(h, 200, {"model": model})

    def _stop(self, h, job: Job) -> int:
        if job.training == "INITIALIZING":
            return _reply(h, 400, {"message": "Model cannot be stopped during job initialization."})
        if job.training == "IN_PROGRESS":
            job.training, job.status = "STOPPING", "STOPPING"
        elif job.training == "QUEUED":
            job.training, job.status = "CANCELED", "ERROR"
        else:
            return _reply(h, 400, {"message": "Model is not in a stoppable state."})
        return _reply(h, 200, {})

    def _metrics(self, h, path: str) -> None:
        """The presigned S3 GET: NoSuchKey until the simapp wrote its first record."""
        if parse_qs(urlsplit(h.path).query).get("X-Amz-Security-Token") != [PRESIGN_TOKEN]:
            return _reply(h, 403, {"message": "AccessDenied"})
        job = self.jobs.get(path.split("/")[2])
        self.metric_fetches += 1
        if job is None or job.served == 0:
            return _reply(h, 404, {"message": "NoSuchKey"})
        _reply(h, 200, {"metrics": self.metrics[:job.served], "version": 2.0,
                        "best_model_metric": "progress"})

    def _import(self, h, payload) -> int:
        import boto3

        p = payload or {}
        if not all(p.get(k) for k in ("modelName", "s3Bucket", "s3Path")):
            return _reply(h, 400, {"message": "Missing required fields"})
        if not re.fullmatch(r"[a-zA-Z0-9-]{1,64}", p["modelName"]):
            return _reply(h, 400, {"message": "Model name must contain only alphanumeric "
                                              "characters and hyphens"})
        s3 = boto3.client("s3", region_name=self.region, endpoint_url=self.s3_endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        listed = s3.list_objects_v2(Bucket=p["s3Bucket"], Prefix=p["s3Path"] + "/")
        keys = {o["Key"][len(p["s3Path"]) + 1:] for o in listed.get("Contents", [])}
        # what ImportHelper.parseImportedFiles reads
        for needed in ("training_params.yaml", "model_metadata.json", "reward_function.py",
                       "ip/hyperparameters.json", "model/.coach_checkpoint"):
            if needed not in keys:
                return _reply(h, 400, {"message": f"{needed} not found at "
                                                  f"s3://{p['s3Bucket']}/{p['s3Path']}"})
        job = Job(self._new_id(), {"name": p["modelName"]}, status="IMPORTING",
                  training="COMPLETED", import_path=p["s3Path"])
        self.jobs[job.model_id] = job
        return _reply(h, 200, {"modelId": job.model_id})


def _reply(h: BaseHTTPRequestHandler, status: int, data: Any) -> int:
    raw = json.dumps(data).encode("utf-8")
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(raw)))
    if status >= 400:
        h.send_header("x-amzn-ErrorType", "ForbiddenException" if status == 403 else "Error")
    h.end_headers()
    h.wfile.write(raw)
    return status
