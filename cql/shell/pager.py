"""Send long output through a pager ($PAGER, else ``less -SRXF``), as pgcli does."""
from __future__ import annotations

import os
import subprocess
from typing import Optional


def page(text: str, command: Optional[str] = None) -> bool:
    """Show ``text`` in the pager (``command``, the config file's, else
    $CQL_PAGER, $PAGER, less); False when no pager could run (the caller then
    prints it)."""
    command = os.environ.get("CQL_PAGER") or command or os.environ.get("PAGER") or "less -SRXF"
    env = dict(os.environ)
    env.setdefault("LESS", "-SRXF")
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    try:
        proc.communicate((text + "\n").encode("utf-8", "replace"))
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    return proc.returncode != 127
