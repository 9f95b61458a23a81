"""Fixtures of the REST suite, on the session's one real Parse Server (the
``server`` fixture of tests/conftest.py)."""
from __future__ import annotations

import itertools
import os

import pytest
from testserver import APP_ID, MASTER_KEY, REST_KEY, connect

_counter = itertools.count()


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
