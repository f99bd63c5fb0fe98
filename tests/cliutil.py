"""Running the command line in process, and reading its one-line errors."""

from __future__ import annotations

from typer.testing import CliRunner

from vidquant.cli.main import app

runner = CliRunner()


def invoke(*args: object):
    """Run ``vidquant ARGS...`` in process; every argument is turned into a string."""
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result) -> str:
    """The single ``vidquant: error:`` line a failed command printed (asserted to be one)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert "Traceback" not in result.output + result.stderr
    assert lines[0].startswith("vidquant: error: ")
    return lines[0]
