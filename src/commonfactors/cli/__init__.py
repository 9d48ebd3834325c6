"""The ``commonfactors`` command: a thin layer over the public API.

Subcommands live one per module in this package and are imported only when invoked
(``COMMANDS`` maps a name to "module:function"), so ``commonfactors pool`` does not pay for the
imports of ``report``. This group is the one place that turns failures into one line on stderr:

- exit 2: InputError, click's usage errors (unknown option, bad choice, missing file), a file that cannot
  be read or written (permission denied, no space left, file size limit, read-only file system, a file
  where a folder should be: the path is named), running out of memory, nesting too deep for Python;
- exit 1: anything else ("internal error: ...; please report it");
- exit 130 / 143: Ctrl-C / SIGTERM ("interrupted"); SIGTERM raises the same KeyboardInterrupt as Ctrl-C,
  so temporary files and folders are removed on the way out;
- a closed pipe on standard output (``| head``) ends the command quietly, with 141 as a shell's
  SIGPIPE would.

Standard output is flushed inside this handling, so a full disk behind ``> file`` is reported too.
Warnings are shown as one line each, ``warning: <message>``, without Python's source line.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
import warnings

import click

from ..errors import InputError

#: subcommand -> "module:attribute" inside commonfactors.cli
COMMANDS: dict[str, str] = {
    "pool": "pool:pool",
    "effects": "effects:effects",
    "factors": "factors:factors",
    "pie": "pie:pie",
    "datasets": "datasets:datasets",
    "reproduce": "reproduce:reproduce",
    "bias": "bias:bias",
    "influence": "influence:influence",
    "report": "report:report",
    "report-all": "report:report_all",
    "convert": "convert:convert",
    "plot": "plot:plot",
    "monitor": "monitor:monitor",
    "simulate-practice": "simulate:simulate_practice",
    "simulate": "simulate:simulate",
    "therapists": "therapists:therapists",
    "network": "network:network",
}


def _one_line(e: click.UsageError) -> click.ClickException:
    """A usage error (unknown option, bad choice, missing argument or file) as one line, exit code 2."""
    command = e.ctx.command_path if e.ctx is not None else "commonfactors"
    err = click.ClickException(f"{e.format_message()} (see '{command} --help')")
    err.exit_code = 2
    return err


class _Stop(click.ClickException):
    """A failure shown as exactly ``message`` (one line; nothing when empty) on stderr, with ``exit_code``."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(" ".join(message.splitlines()))
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        if self.message:
            click.echo(self.message, err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it runs the clean-up of Ctrl-C."""


def _raise_terminated(signum, frame):
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt():
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return "warning: " + " ".join(str(message).splitlines()) + "\n"


@contextlib.contextmanager
def _one_line_warnings():
    previous, warnings.formatwarning = warnings.formatwarning, _warning_line
    try:
        yield
    finally:
        warnings.formatwarning = previous


#: What an OSError means, in the user's words (else its strerror).
OS_ERRORS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (the file size limit was reached)",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of this path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOENT: "no such file or folder",
}


def _flush_stdout() -> None:
    stdout = sys.stdout  # a local, so that _from_stdout sees where a failure came from
    stdout.flush()


def _from_stdout(e: BaseException) -> bool:
    """True when ``e`` was raised writing to standard output: a frame of its traceback holds a stream
    on file descriptor 1 (``click.echo``'s ``file``, or :func:`_flush_stdout`'s)."""
    fd = 1
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = sys.stdout.fileno()
    tb = e.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            with contextlib.suppress(Exception):
                if callable(getattr(value, "fileno", None)) and value.fileno() == fd:
                    return True
        tb = tb.tb_next
    return False


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _forget_interrupt() -> None:
    """Let the interpreter exit with our code after a Ctrl-C that we handled.

    CPython remembers a KeyboardInterrupt that ended code run from a string (``exec``/``eval`` of text,
    as formulaic and dataclasses use) even when a caller caught it, and ``python -m`` then ends the
    process by SIGINT instead of our exit code 130. Running code from a string resets that record
    (``run_eval_code_obj`` in CPython's pythonrun.c).
    """
    exec("None")  # a constant: resets the record, runs nothing


def _os_error(e: OSError) -> _Stop:
    if e.errno == errno.EPIPE:  # the reader went away (| head): not an error
        _silence_stdout()
        return _Stop("", 141)
    what = OS_ERRORS.get(e.errno, (e.strerror or str(e)).lower())
    if e.filename is not None:
        return _Stop(f"Error: {e.filename}: {what}", 2)
    if _from_stdout(e):
        _silence_stdout()
        return _Stop(f"Error: standard output: {what}", 2)
    return _Stop(f"Error: {what}", 2)


class LazyGroup(click.Group):
    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise _one_line(e) from None

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f".{module}", __name__), attr)

    def invoke(self, ctx):
        with _sigterm_as_interrupt(), _one_line_warnings():
            try:
                result = super().invoke(ctx)
                _flush_stdout()
                return result
            except InputError as e:
                raise _Stop(f"Error: {e}", 2) from None
            except click.exceptions.NoArgsIsHelpError:
                raise
            except click.UsageError as e:
                raise _one_line(e) from None
            except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                raise
            except KeyboardInterrupt as e:
                _forget_interrupt()
                raise _Stop("interrupted", 143 if isinstance(e, Terminated) else 130) from None
            except OSError as e:
                raise _os_error(e) from None
            except MemoryError:
                raise _Stop("Error: ran out of memory", 2) from None
            except RecursionError:
                raise _Stop("Error: the input is nested too deeply (Python's recursion limit)", 2) from None
            except Exception as e:
                raise _Stop(f"internal error: {type(e).__name__}: {e}; please report it", 1) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="commonfactors")
def main():
    """Meta-analysis of what drives psychotherapy outcomes (metafor-compatible numbers)."""


if __name__ == "__main__":
    main()
