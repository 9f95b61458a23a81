"""Helpers to run the real `cql` program (python -m cql) in a subprocess."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cql_env(tmp_path, **extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({"CQL_DEBUG": "1", "CQL_HISTORY": str(tmp_path / "history"), "NO_COLOR": "",
                "PAGER": "cat", "CQL_PAGER": "cat", "PYTHONIOENCODING": "utf-8"})
    env.pop("CQL_APP_ID", None)
    env.pop("CQL_MASTER_KEY", None)
    env.pop("CQL_REST_KEY", None)
    env.update(extra)
    return env


@pytest.fixture
def run_cql(tmp_path):
    """run_cql(*args, input=None) -> CompletedProcess; no controlling terminal
    (start_new_session), so nothing can ask a question on /dev/tty."""
    def run(*args, input=None, **extra_env):
        return subprocess.run([sys.executable, "-m", "cql", *args], input=input, capture_output=True,
                              text=True, encoding="utf-8", cwd=tmp_path, env=cql_env(tmp_path, **extra_env),
                              timeout=60, start_new_session=True)
    return run


@pytest.fixture
def todo_db(tmp_path, run_cql):
    """A database file with two Todo objects."""
    db = tmp_path / "todo.db"
    r = run_cql("-e", "insert into Todo (title, n) values ('买牛奶', 1), ('b', 2)", str(db))
    assert r.returncode == 0, r.stderr
    return db
