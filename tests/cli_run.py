"""Running a ``commonfactors`` subcommand in tests, two ways with one result type.

``in_process`` calls the click command through ``click.testing.CliRunner`` (no interpreter start, about ten
times faster); ``in_a_process`` runs ``python -m commonfactors.cli`` as a shell would, for the contracts only
a real process shows (exit code, the one line on stderr, cold start). Both return a
``subprocess.CompletedProcess`` (``returncode``, ``stdout``, ``stderr``), so a test reads the same either way.
"""

import subprocess
import sys

from click.testing import CliRunner

from commonfactors.cli import main


def in_process(command: str, *args) -> subprocess.CompletedProcess:
    """``commonfactors COMMAND ARGS...`` in this interpreter; an uncaught exception fails the test."""
    res = CliRunner().invoke(main, [command, *map(str, args)])
    assert res.exit_code in (0, 2), res.exception  # exit 1: an exception escaped the command
    return subprocess.CompletedProcess([command, *args], res.exit_code, res.stdout, res.stderr)


def in_a_process(command: str, *args) -> subprocess.CompletedProcess:
    """``commonfactors COMMAND ARGS...`` in a new Python process, as a shell runs it."""
    return subprocess.run([sys.executable, "-m", "commonfactors.cli", command, *map(str, args)],
                          capture_output=True, text=True, timeout=120)
