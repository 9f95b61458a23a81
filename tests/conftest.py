"""Fixtures shared by the whole suite: one real Parse Server (PostgreSQL/PostGIS)
per test session, started on first use by tests/rest/testserver.py and stopped
at the end. If it cannot start, the tests fail with the reason (not skipped)."""
from __future__ import annotations

import pytest
from testserver import ServerStartError, TestServer  # tests/rest, on pythonpath (pyproject.toml)


@pytest.fixture(scope="session")
def server():
    srv = TestServer()
    try:
        srv.start()
    except ServerStartError as exc:
        pytest.fail(f"the Parse Server test server could not start: {exc}", pytrace=False)
    yield srv
    srv.stop()
