"""pytest fixtures for the test hub's own tests (tests/hub/test_*.py)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hubctl  # noqa: E402


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    h = hubctl.start_hub(stderr_path=str(tmp_path_factory.mktemp("hub") / "testhub.stderr"))
    yield h
    h.stop()


@pytest.fixture(autouse=True)
def _fresh_hub(request):
    """Each test starts with empty stats, no faults and the fixture branches."""
    if "hub" in request.fixturenames:
        request.getfixturevalue("hub").reset()
    yield
