"""Shared fixtures: float64 by default, seeded generators and the reference values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def refs_dir() -> Path:
    """Return the folder of independent reference values (`../shared/refs`)."""
    override = os.environ.get("NNTK_REFS")
    path = Path(override) if override else REPO_ROOT.parent / "shared" / "refs"
    if not path.is_dir():
        raise FileNotFoundError(
            f"reference values not found at {path}; set NNTK_REFS to the refs folder"
        )
    return path


@pytest.fixture(autouse=True)
def _float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def nonlocal_refs() -> list[dict]:
    return json.loads((refs_dir() / "nonlocal_refs.json").read_text())


@pytest.fixture(scope="session")
def nt_refs() -> dict:
    return json.loads((refs_dir() / "neural_tangents_1d.json").read_text())
