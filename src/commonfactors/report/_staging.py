"""The output folder's safety: a site is built in a fresh folder next to the target and swapped in at the end.

A non-empty folder that is not a site built here is refused before anything is written; the new site
replaces the old one in one ``renameat2`` exchange (two renames with signals held where that is not
available); an interrupted build (error, Ctrl-C, SIGTERM) leaves the previous site as it was, and the
folders of builds killed outright are removed by the next build.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .. import __version__
from ..errors import InputError

#: Files of an existing output folder that a rebuild keeps (the site's README is committed in git).
KEEP = ("README.md", ".gitignore")

#: Written into every site built here; a non-empty output folder without it is refused, never replaced.
SITE_MARKER = ".commonfactors-site"


@contextlib.contextmanager
def staging(out_dir):
    """Yield a fresh folder next to ``out_dir``; on success it replaces ``out_dir`` in one atomic step
    (:func:`_swap`), keeping the files of :data:`KEEP`; on any error, Ctrl-C or SIGTERM (which the command
    line turns into the same KeyboardInterrupt) it is removed and ``out_dir`` is left as it was.

    ``out_dir`` must be new, empty (or hold only :data:`KEEP` files) or a site built here (it holds
    :data:`SITE_MARKER`, or is a site of an earlier version, whose ``index.html`` says it was built by
    commonfactors); any other folder is refused with InputError before anything is written, so a
    folder of the user's files is never replaced. The temporary folder is ``.<name>.building-<pid>-<random>``;
    those left by a process that no longer runs (killed with SIGKILL, a power cut) are removed first.
    """
    from .._io_write import user_path_error, user_umask

    out = Path(out_dir).resolve()
    _refuse_foreign_folder(out, out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(out)
    prefix = out.parent / f".{out.name}.building-{os.getpid()}-"
    tmp = old = None
    try:
        tmp = old = Path(tempfile.mkdtemp(prefix=prefix.name, dir=out.parent))
        yield tmp
        for name in KEEP:
            if (out / name).is_file():
                shutil.copy2(out / name, tmp / name)
        (tmp / SITE_MARKER).write_text(f"built by commonfactors {__version__}\n", encoding="utf-8")
        os.chmod(tmp, 0o777 & ~user_umask())
        old = _swap(tmp, out)
    except OSError as e:
        raise user_path_error(e, Path(out_dir), str(prefix)) from None  # the user's folder, not ours
    finally:
        with _signals_held():
            for folder in {tmp, old} - {None}:
                shutil.rmtree(folder, ignore_errors=True)


def _refuse_foreign_folder(out: Path, out_dir) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError("is a file", file=out_dir, expected="a folder for the report")
    names = sorted(p.name for p in out.iterdir())
    if SITE_MARKER in names or set(names) <= set(KEEP) or _site_without_marker(out):
        return
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    raise InputError(f"holds files that are not a report built by commonfactors ({shown}); nothing was "
                     "replaced", file=out_dir,
                     expected=f"a new or empty folder, or a previous report's (it holds {SITE_MARKER})")


def _site_without_marker(out: Path) -> bool:
    """A site built by a version that wrote no marker: its ``index.html`` says "Built by commonfactors"."""
    index = out / "index.html"
    if not index.is_file() or index.stat().st_size > 10_000_000:
        return False
    return b"Built by commonfactors " in index.read_bytes()


def _remove_stale_builds(out: Path) -> None:
    """Remove ``.<name>.building-<pid>-*`` folders next to ``out`` whose process no longer runs."""
    prefix = f".{out.name}.building-"
    for p in out.parent.iterdir():
        pid = p.name[len(prefix):].split("-", 1)[0] if p.name.startswith(prefix) else ""
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait until the end of the block (POSIX; elsewhere the block runs as it is)."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _swap(new: Path, out: Path) -> Path:
    """Put the folder ``new`` at ``out`` so that at every instant ``out`` is the old site or the new one;
    return where the old site now is (to be removed).

    On Linux, ``renameat2(RENAME_EXCHANGE)`` (kernel 3.15, glibc 2.28; ext4, xfs, btrfs, tmpfs, ...) swaps
    the two names in one system call, so ``out`` stays a real folder (``reports/index.html`` opens as a
    path; git sees ``reports/README.md`` as before). A symbolic link ``out`` to a versioned build folder,
    replaced with ``os.replace``, would be atomic everywhere, but ``out`` would then be a link, which git
    records as a file and which tools that do not follow links treat differently: chosen against. Where
    the exchange is not available, two renames (the old site aside, the new one in) with SIGINT and
    SIGTERM held back in between, so only SIGKILL or a crash can leave ``out`` missing, with the old
    site in a ``.building-`` folder.
    """
    with _signals_held():
        if not out.exists():
            os.replace(new, out)
            return new
        if _exchange(new, out):
            return new
        aside = new.with_name(new.name + "-old")
        os.replace(out, aside)
        os.replace(new, out)
        return aside


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` atomically with Linux's renameat2; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # glibc older than 2.28, or another C library
        return False
    at_fdcwd, rename_exchange = -100, 2  # <fcntl.h> AT_FDCWD, <linux/fs.h> RENAME_EXCHANGE
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # the file system cannot exchange
        return False
    raise OSError(code, os.strerror(code), str(b))
