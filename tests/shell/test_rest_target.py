"""`cql URL` against a real Parse Server (the REST suite's test server): keys
from the environment, a warning for keys on the command line, errors with the
server's code."""
import json
import os

import pytest
from testserver import APP_ID, MASTER_KEY


@pytest.fixture(scope="module")
def parse_url(server):
    return server.parse_url


def test_url_target_with_keys_from_the_environment(run_cql, parse_url):
    cls = f"Shell{os.getpid()}"
    r = run_cql(parse_url, "-e", f"insert into {cls} (a, s) values (1, '一'), (2, 'two')",
                "-e", f"select a, s from {cls} order by a", "--format", "json",
                CQL_APP_ID=APP_ID, CQL_MASTER_KEY=MASTER_KEY)
    assert r.returncode == 0, r.stderr
    assert [(o["a"], o["s"]) for o in json.loads(r.stdout)] == [(1, "一"), (2, "two")]
    assert "warning" not in r.stderr
    r = run_cql(parse_url, "-e", ".classes", CQL_APP_ID=APP_ID, CQL_MASTER_KEY=MASTER_KEY)
    assert cls in r.stdout.split()


def test_key_on_the_command_line_warns(run_cql, parse_url):
    r = run_cql(parse_url, "--app-id", APP_ID, "--master-key", MASTER_KEY, "-e", "select count(*) from Nothing")
    assert r.returncode == 0, r.stderr
    assert "--master-key on the command line is visible" in r.stderr and "CQL_MASTER_KEY" in r.stderr


def test_server_errors_keep_the_server_code(run_cql, parse_url):
    r = run_cql(parse_url, "-e", "select * from Nothing", CQL_APP_ID=APP_ID, CQL_REST_KEY="wrong")
    assert r.returncode == 1
    assert r.stderr.startswith("<command line>:1:1: error 403")
    assert "Traceback" not in r.stderr
