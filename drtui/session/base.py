"""Shared building blocks of the session model: strict sections and env-safe strings."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

# Characters a value may carry into a DRfC env file. DRfC's activate.sh splits lines on
# whitespace, cuts at '=' and runs `eval "export KEY=VALUE"`, so anything a shell would
# interpret ($, quotes, ;, `, spaces, #) must never get there.
_ENV_SAFE = re.compile(r"[A-Za-z0-9._:/@+,-]*")


def env_safe(value: str) -> str:
    if not _ENV_SAFE.fullmatch(value):
        bad = sorted({c for c in value if not _ENV_SAFE.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad)
        raise ValueError(f"may only contain letters, digits and . _ : / @ + , - "
                         f"(it reaches a DRfC env file); found {shown}")
    return value


EnvStr = Annotated[str, AfterValidator(env_safe)]


class Section(BaseModel):
    """A table of the session file: unknown keys and wrong types are errors, not guesses."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)
