"""Shared fixtures: the real data beside the project (skipped with a reason where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(os.environ.get("XDANCER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (it ships beside the project on development machines and CI only)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of ../shared/data (skips the test when absent)."""
    return _need(SHARED_DATA)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
