"""The README's examples run: every command in its code blocks, its Python block, and every ``--help``.

The shell blocks are run line by line (``;`` separates two commands on a line, ``#`` starts a comment), in
the README's order and in one temporary folder, as a reader following the README would: later commands
read the files earlier ones write (``bcg_es.csv``, ``molloy_es.csv``). A ``csv`` block is a file the text
around it names in backticks (``matrix.csv``); it is written to the folder before any command runs.
``make`` commands are not run: ``NOT_RUN`` lists each with the reason, and a ``make`` command missing
from it fails the test, so the list stays complete. ``report`` commands (a page with its figures, built in
worker processes: about 5-20 s each) are marked ``slow``; they run after the others, in the same folder.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commonfactors.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

#: ``make`` commands of the README, not run here, and why
NOT_RUN = {
    ("make", "reports"): "installs the package into .venv and takes minutes (the README gives the measured "
                         "time; tests/test_setup.py runs the install step)",
    ("make", "test"): "runs this test suite",
}

#: how the README may spell the command line
PROGRAMS = (("commonfactors",), ("python", "-m", "commonfactors.cli"), ("python3", "-m", "commonfactors.cli"))

#: words that have no place in text shown to users ("session" is not among them: therapy sessions are data
#: here, and the monitoring commands name them)
INTERNAL = re.compile(r"\bissues?\b|#\d+|\bhelpers?\b|\btasks?\b", re.IGNORECASE)


def code_blocks(text: str) -> list[tuple[str, str, str]]:
    """(language, body, the paragraph just before the block) for each fenced block, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = re.fullmatch(r"```(\w*)\s*", lines[i])
        if fence is None:
            i += 1
            continue
        before, j = [], i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        while j >= 0 and lines[j].strip():
            before.insert(0, lines[j])
            j -= 1
        end = lines.index("```", i + 1)
        blocks.append((fence.group(1), "\n".join(lines[i + 1:end]) + "\n", " ".join(before)))
        i = end + 1
    return blocks


def commands(body: str) -> list[list[str]]:
    """Each command of a shell block as its argument list (quotes and comments as a shell reads them)."""
    found = []
    for line in body.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";")
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token == ";":
                found.append(current)
                current = []
            else:
                current.append(token)
        if current:
            found.append(current)
    return found


def is_commands(lang: str, body: str) -> bool:
    """A block of commands (not a diagram or output): a shell block whose first word is a program."""
    first = body.split(maxsplit=1)[:1]
    return lang in ("", "sh", "shell", "bash") and first in (["make"], *([p[0]] for p in PROGRAMS))


BLOCKS = code_blocks(README.read_text(encoding="utf-8"))
SHELL = [c for lang, body, _ in BLOCKS if is_commands(lang, body) for c in commands(body)]
RUN = [c for c in SHELL if c[0] != "make"]
SLOW = {"report"}  # subcommands whose README examples are marked slow
FILES = {}
for lang, body, before in BLOCKS:
    if lang == "csv":
        named = re.findall(r"`([\w.-]+\.csv)`", before)
        assert named, f"a csv block of the README follows no `file.csv` name: {before!r}"
        FILES[named[-1]] = body


def cli_args(argv: list[str]) -> list[str]:
    for program in PROGRAMS:
        if tuple(argv[:len(program)]) == program:
            return argv[len(program):]
    raise AssertionError(f"the README shows a command this test cannot run: {shlex.join(argv)}")


def test_the_readme_shows_commands_and_files():
    assert len(RUN) >= 20 and "matrix.csv" in FILES
    assert [lang for lang, _, _ in BLOCKS].count("python") == 1


@pytest.mark.parametrize("argv", [c for c in SHELL if c[0] == "make"], ids=shlex.join)
def test_every_make_command_is_accounted_for(argv):
    assert tuple(argv) in NOT_RUN, f"{shlex.join(argv)} is neither run nor listed in NOT_RUN with a reason"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The README's files written, and its commands other than SLOW's run in order: (folder, results)."""
    path = tmp_path_factory.mktemp("readme")
    for name, text in FILES.items():
        (path / name).write_text(text, encoding="utf-8")
    done = {}
    for argv in RUN:
        if cli_args(argv)[0] not in SLOW:
            done[shlex.join(argv)] = run_in(path, argv)
    return path, done


def run_in(path: Path, argv: list[str]):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        return CliRunner().invoke(main, cli_args(argv), prog_name="commonfactors")


def check(path: Path, argv: list[str], res) -> None:
    line = shlex.join(argv)
    assert res.exit_code == 0, f"{line}\nexit {res.exit_code}\n{res.stdout}\n{res.stderr}"
    if "--out" in argv:
        assert (path / argv[argv.index("--out") + 1]).exists(), f"{line} wrote no file"
    else:
        assert res.stdout.strip(), f"{line} printed nothing"


@pytest.mark.parametrize(
    "argv",
    [pytest.param(c, marks=[pytest.mark.slow] if cli_args(c)[0] in SLOW else []) for c in RUN],
    ids=shlex.join,
)
def test_readme_command_runs(folder, argv):
    path, done = folder
    line = shlex.join(argv)
    check(path, argv, done[line] if line in done else run_in(path, argv))


def test_readme_python_block_runs(tmp_path, monkeypatch, capsys):
    (code,) = [body for lang, body, _ in BLOCKS if lang == "python"]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{README} (python block)", "exec"), {"__name__": "readme"})
    assert "estimate" in capsys.readouterr().out


def command_paths(group: click.Group, ctx: click.Context, prefix=()) -> list[tuple[str, ...]]:
    paths = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        paths.append((*prefix, name))
        if isinstance(cmd, click.Group):
            paths += command_paths(cmd, click.Context(cmd, parent=ctx, info_name=name), (*prefix, name))
    return paths


HELP = [(), *command_paths(main, click.Context(main, info_name="commonfactors"))]


@pytest.mark.parametrize("path", HELP, ids=lambda p: " ".join(("commonfactors", *p)))
def test_help_of_every_command(path):
    res = CliRunner().invoke(main, [*path, "--help"], prog_name="commonfactors")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("Usage: commonfactors"), res.stdout
    words = INTERNAL.findall(res.stdout)
    assert not words, f"commonfactors {' '.join(path)} --help says {words}: internal words, not for users"
