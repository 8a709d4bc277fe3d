"""Test setup: the package under test comes from <repo>/py (no install needed), and
tests/ itself is importable (models.py and shared checks)."""
import os
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
PY = os.path.join(REPO, "py")

for path in (PY, TESTS):
    if path not in sys.path:
        sys.path.insert(0, path)


def subprocess_env():
    """Environment for `python -m wetron ...` run as a child process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PY + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture(scope="session")
def wetron_env():
    return subprocess_env()
