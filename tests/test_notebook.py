"""The notebook magics, run as a person would: examples/todos.ipynb executed
headlessly by a real Jupyter kernel (nbclient), plus the error path; and the
promise that ``import cql`` loads none of this."""
from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "examples", "todos.ipynb")


def execute(nb, tmp_path):
    env_path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this tree's cql
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def outputs(cell, kind):
    return [o for o in cell.outputs if o.get("output_type") == kind]


def test_example_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("CQL_TARGET", raising=False)
    nb = execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    select = outputs(code[3], "execute_result")[0]["data"]
    assert "<table" in select["text/html"] and "test" in select["text/plain"]
    assert "['write', 'test']" in outputs(code[5], "execute_result")[0]["data"]["text/plain"]
    assert "notebook ok" in "".join(o.get("text", "") for o in outputs(code[-1], "stream"))


def test_a_cql_error_fails_the_cell_without_a_traceback(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext cql\n%cql :memory:"),
        nbformat.v4.new_code_cell("%cql select * from Todo where"),
    ])
    with pytest.raises(CellExecutionError) as info:
        execute(nb, tmp_path)
    error = outputs(nb.cells[1], "error")[0]
    assert error["ename"] == "CellError" and "CQL error 300" in error["evalue"]
    assert error["traceback"] == [f"CellError: {error['evalue']}"] and "CQL error 300" in str(info.value)


def test_import_cql_stays_lean():
    code = ("import sys, cql; heavy = [m for m in ('IPython', 'pandas', 'pyarrow', 'cql.query', 'cql.objects', "
            "'cql.model', 'cql.notebook', 'cql.frames') if m in sys.modules]; print(heavy); "
            "assert callable(cql.load_ipython_extension)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
