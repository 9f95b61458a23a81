"""The dot-command registry: one table for dispatch, help and completion."""
import io

import pytest

from cql.shell import commands
from cql.shell.session import CommandError, Session


def session():
    out = io.StringIO()
    return Session(None, stdout=out, stderr=out), out


def test_every_command_is_documented_and_reachable_by_alias():
    for cmd in commands.all_commands():
        assert cmd.name.startswith(".") and cmd.description
        for alias in cmd.aliases:
            assert commands.lookup(alias) is cmd
    for needed in (".open", ".classes", ".schema", ".format", ".timing", ".explain", ".read", ".output",
                   ".import", ".export", ".quit", ".exit", ".help"):
        assert commands.lookup(needed)


def test_help_lists_every_command():
    s, out = session()
    commands.dispatch(s, ".help")
    text = out.getvalue()
    for cmd in commands.all_commands():
        assert cmd.name in text


def test_unknown_command_suggests_a_close_one():
    with pytest.raises(CommandError, match=r"did you mean \.schema\?"):
        commands.lookup(".shema")


def test_registering_twice_is_refused():
    with pytest.raises(ValueError):
        commands.command(".help")(lambda s, a: None)


def test_format_and_timing_change_the_session():
    s, out = session()
    commands.dispatch(s, ".format csv")
    assert s.format == "csv"
    with pytest.raises(CommandError, match="did you mean json"):
        commands.dispatch(s, ".format jsn")
    commands.dispatch(s, ".timing on")
    assert s.timing is True
    with pytest.raises(CommandError, match="usage"):
        commands.dispatch(s, ".timing maybe")
    commands.dispatch(s, ".quit")
    assert s.quit_requested
