"""The ``commonfactors`` command: a thin layer over the public API.

Subcommands live one per module in this package and are imported only when invoked
(``COMMANDS`` maps a name to "module:function"), so ``commonfactors pool`` does not pay for the
imports of ``report``. This group is the one place that turns InputError, and click's usage errors
(unknown option, bad choice, missing file), into one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib

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
}


def _one_line(e: click.UsageError) -> click.ClickException:
    """A usage error (unknown option, bad choice, missing argument or file) as one line, exit code 2."""
    command = e.ctx.command_path if e.ctx is not None else "commonfactors"
    err = click.ClickException(f"{e.format_message()} (see '{command} --help')")
    err.exit_code = 2
    return err


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
        try:
            return super().invoke(ctx)
        except InputError as e:
            err = click.ClickException(str(e))
            err.exit_code = 2
            raise err from None
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise _one_line(e) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="commonfactors")
def main():
    """Meta-analysis of what drives psychotherapy outcomes (metafor-compatible numbers)."""


if __name__ == "__main__":
    main()
