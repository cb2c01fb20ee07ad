from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from sim_helpers import oval_route


@pytest.fixture(scope="session")
def oval(tmp_path_factory) -> str:
    """Path of the oval route file (a world name for SimConfig and trace)."""
    path = tmp_path_factory.mktemp("routes") / "oval.npy"
    np.save(path, oval_route())
    return str(path)
