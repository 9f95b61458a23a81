"""Fixtures of the REST suite: one real Parse Server (PostgreSQL/PostGIS) per
test session, started by tests/rest/testserver.py and stopped at the end.
If it cannot start, the tests fail with the reason (they are not skipped)."""
from __future__ import annotations

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from testserver import APP_ID, MASTER_KEY, REST_KEY, ServerStartError, TestServer, connect  # noqa: E402

_counter = itertools.count()


@pytest.fixture(scope="session")
def server():
    srv = TestServer()
    try:
        srv.start()
    except ServerStartError as exc:
        pytest.fail(f"the Parse Server test server could not start: {exc}", pytrace=False)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def keys():
    return {"app_id": APP_ID, "master_key": MASTER_KEY, "rest_key": REST_KEY}


@pytest.fixture(params=["parse", "leancloud"])
def flavor(request):
    return request.param


@pytest.fixture
def conn(server, flavor):
    """A master-key connection of each flavor on the test server."""
    c = connect(server, flavor)
    yield c
    c.close()


@pytest.fixture
def cls(flavor):
    """A class name of this test's own (classes are never reused)."""
    return f"T{next(_counter)}{flavor.capitalize()}{os.getpid()}"
