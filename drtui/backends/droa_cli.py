"""`drtui droa import FOLDER --name NAME`: put a trained DRfC model into a DeepRacer on AWS
deployment, as its website does: upload the folder to the deployment's upload bucket under
uploads/models/<uuid>/ with the user's credentials, POST /importmodel, then poll the model
until DRoA has validated it (IMPORTING -> READY or ERROR).

The folder may be a DRfC model prefix as it sits in the bucket (model/, ip/, metrics/,
reward_function.py, training_params*.yaml) or a folder already in DRoA's import layout. It
is uploaded in DRoA's layout (the solution's ImportHelper.ts reads these keys):

    training_params.yaml  model_metadata.json  reward_function.py  ip/hyperparameters.json
    model/.coach_checkpoint  model/<checkpoint>.{index,data-*,meta}  metrics/training/*.json
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from drtui.errors import InvalidInput
from drtui.problem import Problem

MAX_BYTES = 1 << 30  # DRoA imports models under 1 GB
_SKIP = {".DS_Store", "Thumbs.db", "desktop.ini", "._.DS_Store"}
_STEP = re.compile(r"^(\d+)_Step-")
_PB = re.compile(r"^model_(\d+)\.pb$")
_CONTENT_TYPES = {".json": "application/json", ".yaml": "application/x-yaml",
                  ".yml": "application/x-yaml", ".py": "text/x-python"}


def _problem(path: str, message: str):
    return Problem(path, message)


def _first(folder: Path, *names: str) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _training_params(path: Path) -> bytes:
    """DRfC's training_params.yaml made acceptable to DRoA: WORLD_NAME without the
    _cw/_ccw suffix DRoA's trackIds lack, and TRACK_DIRECTION_CLOCKWISE set from it."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput([_problem(str(path), f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict) or not data.get("WORLD_NAME"):
        raise InvalidInput([_problem(str(path), "has no WORLD_NAME (the track)")])
    world = str(data["WORLD_NAME"])
    base = re.sub(r"_(cw|ccw)$", "", world)
    if "TRACK_DIRECTION_CLOCKWISE" not in data:
        data["TRACK_DIRECTION_CLOCKWISE"] = world.endswith("_cw")
    data["WORLD_NAME"] = base
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True).encode("utf-8")


def collect(folder: Path) -> dict[str, bytes | Path]:
    """The upload: S3 key below the upload prefix -> a file, or bytes for files rewritten on
    the way. InvalidInput names everything missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput([_problem("FOLDER", f"{folder} is not a folder")])
    problems = []
    out: dict[str, bytes | Path] = {}
    model = folder / "model"
    sources = {
        "model_metadata.json": _first(folder, "model_metadata.json", "model/model_metadata.json",
                                      "custom_files/model_metadata.json"),
        "reward_function.py": _first(folder, "reward_function.py",
                                     "custom_files/reward_function.py"),
        "ip/hyperparameters.json": _first(folder, "ip/hyperparameters.json",
                                          "hyperparameters.json",
                                          "custom_files/hyperparameters.json"),
        "training_params.yaml": _first(folder, "training_params.yaml",
                                       "training_params_1.yaml"),
    }
    for key, src in sources.items():
        if src is None:
            problems.append(_problem("FOLDER", f"{folder} has no {key.split('/')[-1]}"))
        elif key == "training_params.yaml":
            out[key] = _training_params(src)
        else:
            out[key] = src
    if sources["ip/hyperparameters.json"] is not None:
        out["hyperparameters.json"] = sources["ip/hyperparameters.json"]  # where DRoA's docs say

    # the checkpoint: named by model/.coach_checkpoint, else DRfC's deepracer_checkpoints.json
    name = None
    if (model / ".coach_checkpoint").is_file():
        text = (model / ".coach_checkpoint").read_text(encoding="utf-8").strip()
        m = re.search(r'"?([^"\s]+\.ckpt)"?', text)
        name = m.group(1) if m else None
    elif (model / "deepracer_checkpoints.json").is_file():
        try:
            index = json.loads((model / "deepracer_checkpoints.json").read_text("utf-8"))
            name = index["last_checkpoint"]["name"]
        except (ValueError, KeyError, TypeError):
            name = None
    if name is None:
        problems.append(_problem("FOLDER", f"{model} names no checkpoint (.coach_checkpoint or "
                                           "deepracer_checkpoints.json)"))
    else:
        parts = [p for p in model.glob(f"{name}.*") if p.is_file()]
        kinds = {p.name[len(name) + 1:].split("-")[0] for p in parts}
        missing = [k for k in ("index", "data", "meta") if k not in kinds]
        if missing:
            problems.append(_problem(
                "FOLDER", f"{model} lacks {', '.join(name + '.' + k for k in missing)}: DeepRacer "
                          "on AWS imports TensorFlow checkpoints (DRfC/SageMaker); drtui's "
                          "embedded trainer saves torch checkpoints, which it cannot import"))
        step = _STEP.match(name).group(1) if _STEP.match(name) else None
        for p in sorted(model.iterdir()) if model.is_dir() else []:
            other_ckpt = _STEP.match(p.name) and _STEP.match(p.name).group(1) != step
            other_pb = _PB.match(p.name) and _PB.match(p.name).group(1) != step
            if p.is_file() and not other_ckpt and not other_pb and p.name not in _SKIP \
                    and p.suffix not in (".gz", ".zip") and p.name != ".coach_checkpoint":
                out[f"model/{p.name}"] = p
        out["model/.coach_checkpoint"] = name.encode("utf-8")
    metrics = sorted((folder / "metrics" / "training").glob("training-*.json"))
    for p in metrics:
        out[f"metrics/training/{p.name}"] = p
    drfc_metrics = folder / "metrics" / "TrainingMetrics.json"
    if not metrics and drfc_metrics.is_file():
        out["metrics/training/training-metrics.json"] = drfc_metrics
    if problems:
        raise InvalidInput(problems)
    size = sum(len(v) if isinstance(v, bytes) else v.stat().st_size for v in out.values())
    if size >= MAX_BYTES:
        raise InvalidInput([_problem("FOLDER", f"{size / 2**30:.2f} GB: DeepRacer on AWS imports "
                                               "models under 1 GB")])
    return out


def upload(files: dict[str, bytes | Path], *, bucket: str, prefix: str, region: str,
           profile: str) -> None:
    """Put the files under s3://bucket/prefix/ with the user's credentials."""
    import boto3
    import botocore.exceptions

    from drtui.backends.droa_client import DroaAuthError, DroaBadRequest, DroaConnectionError

    name = profile if profile and profile != "default" else None
    try:
        s3 = boto3.Session(profile_name=name, region_name=region).client("s3")
        for key, src in files.items():
            body = src if isinstance(src, bytes) else src.read_bytes()
            suffix = Path(key).suffix.lower()
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=body,
                          ContentType=_CONTENT_TYPES.get(suffix, "application/octet-stream"))
    except botocore.exceptions.ProfileNotFound:
        raise DroaAuthError(f"not authorised: no AWS profile named {profile!r}") from None
    except botocore.exceptions.NoCredentialsError:
        raise DroaAuthError("not authorised: no AWS credentials to upload with") from None
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        msg = exc.response.get("Error", {}).get("Message", str(exc))
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                    "ExpiredToken", "InvalidToken"):
            raise DroaAuthError(f"not authorised: cannot upload to s3://{bucket}: {msg}") from None
        if code == "NoSuchBucket":
            raise DroaBadRequest(f"--bucket: no bucket {bucket!r} (the deployment's "
                                 "uploadBucketName, in its site's env.js)") from None
        raise DroaBadRequest(f"upload to s3://{bucket} failed: {code}: {msg}") from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise DroaConnectionError(f"cannot reach S3: {exc}") from None


async def import_model(folder: Path, name: str, *, api_url: str, region: str, profile: str,
                       bucket: str, description: str | None = None, wait: bool = True,
                       poll: float = 10.0, timeout: float = 1800.0,
                       on_status=None) -> dict[str, Any]:
    """Collect, upload, import and (if wait) poll; the model's final record."""
    import asyncio
    import uuid

    from drtui.backends.droa_client import DroaClient, DroaError, Endpoint

    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name):
        raise InvalidInput([_problem("--name", "must be 1-64 characters of A-Z, a-z, 0-9 and "
                                               f"'-' (got {name!r})")])
    if description and not re.fullmatch(r"[A-Za-z0-9- ]{1,255}", description):
        raise InvalidInput([_problem("--description", "letters, digits, '-' and spaces only, "
                                                      "at most 255 characters")])
    files = collect(folder)
    client = DroaClient(Endpoint(api_url, region, profile))
    prefix = f"uploads/models/{uuid.uuid4()}"
    await asyncio.to_thread(upload, files, bucket=bucket, prefix=prefix, region=region,
                            profile=profile)
    model_id = await client.import_model(bucket, prefix, name, description)
    result: dict[str, Any] = {"modelId": model_id, "status": "IMPORTING", "s3Path": prefix,
                              "files": len(files)}
    if on_status:
        on_status(result)
    deadline = time.monotonic() + timeout
    while wait:
        model = await client.get_model(model_id)
        result["status"] = model.get("status")
        if model.get("status") == "READY":
            break
        if model.get("status") == "ERROR":
            raise DroaError(f"DeepRacer on AWS could not import {name} (model {model_id}): "
                            f"{model.get('importErrorMessage') or 'validation failed'}")
        if time.monotonic() > deadline:
            raise DroaError(f"model {model_id} is still {model.get('status')} after "
                            f"{timeout:.0f} s; check it in the DeepRacer on AWS console")
        await asyncio.sleep(poll)
    return result


def cmd_import(args) -> int:
    import asyncio

    settings = _settings(args)
    missing = [_problem(flag, f"needed: {why}") for flag, value, why in (
        ("--api-url", settings["api_url"], "the deployment's API URL (apiEndpointUrl in env.js)"),
        ("--bucket", settings["upload_bucket"],
         "the deployment's upload bucket (uploadBucketName in env.js)")) if not value]
    if missing:
        raise InvalidInput(missing)

    def progress(result: dict[str, Any]) -> None:
        if not args.json:
            print(f"uploaded {result['files']} files; importing as model {result['modelId']}...",
                  file=sys.stderr, flush=True)

    result = asyncio.run(import_model(
        Path(args.folder), args.name, api_url=settings["api_url"], region=settings["region"],
        profile=settings["profile"], bucket=settings["upload_bucket"],
        description=args.description, wait=not args.no_wait, poll=args.poll,
        timeout=args.timeout, on_status=progress))
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        print(f"{args.name}: DeepRacer on AWS model {result['modelId']} ({result['status']})")
    return 0


def _settings(args) -> dict[str, str]:
    values = {"api_url": "", "region": "us-east-1", "profile": "default", "upload_bucket": ""}
    if args.session:
        from drtui.session import store

        s = store.load(Path(args.session), check=False).backend.deepracer_on_aws
        values.update(api_url=s.api_url, region=s.region, profile=s.profile,
                      upload_bucket=s.upload_bucket)
    for key, flag in (("api_url", "api_url"), ("region", "region"), ("profile", "profile"),
                      ("upload_bucket", "bucket")):
        if getattr(args, flag):
            values[key] = getattr(args, flag)
    return values


def register(command) -> None:
    droa = command("droa", lambda a: (droa.print_help(), 2)[1],
                   "DeepRacer on AWS: import trained models into a deployment")
    sub = droa.add_subparsers(dest="droa_command", metavar="COMMAND")
    sp = sub.add_parser("import", help="upload a DRfC model folder and import it (POST "
                                       "/importmodel), then wait until it is READY")
    sp.add_argument("folder", help="DRfC model folder (model/, ip/, reward_function.py, "
                                   "training_params.yaml) or one in DRoA's import layout")
    sp.add_argument("--name", required=True, help="the model's name in DeepRacer on AWS")
    sp.add_argument("--description", help="letters, digits, '-' and spaces")
    sp.add_argument("--session", help="take api_url, region, profile and upload_bucket from "
                                      "this session's backend.deepracer_on_aws")
    sp.add_argument("--api-url", help="the deployment's API URL (apiEndpointUrl in env.js)")
    sp.add_argument("--bucket", help="its upload bucket (uploadBucketName in env.js)")
    sp.add_argument("--region", help="AWS region (default: us-east-1)")
    sp.add_argument("--profile", help="AWS profile with credentials for the deployment")
    sp.add_argument("--no-wait", action="store_true", help="return once the import started")
    sp.add_argument("--poll", type=float, default=10.0, help="seconds between status checks")
    sp.add_argument("--timeout", type=float, default=1800.0,
                    help="give up waiting after this many seconds")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_import)
