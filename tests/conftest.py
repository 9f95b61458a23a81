"""Fixtures shared by the whole suite: one real Parse Server (PostgreSQL/PostGIS)
per test session, started on first use by tests/rest/testserver.py and stopped
at the end. If it cannot start, the tests fail with the reason (not skipped)."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "rest"))
from testserver import ServerStartError, TestServer  # noqa: E402


@pytest.fixture(scope="session")
def server():
    srv = TestServer()
    try:
        srv.start()
    except ServerStartError as exc:
        pytest.fail(f"the Parse Server test server could not start: {exc}", pytrace=False)
    yield srv
    srv.stop()
