"""Output files that never destroy: atomic writes of regular files, direct writes to devices.

A regular file is written to a temporary file in the target's folder, then moved into place with
``os.replace``, so an interrupted or failed write never leaves a half-written output file behind. The
file gets the mode of the file it replaces, or, when it is new, the user's umask (``0o666 & ~umask``, as
``open()`` would give it; ``tempfile`` alone would leave it at 0600). A target that is a character device
or a named pipe (``/dev/null``, ``/dev/stdout``) is written to directly, never replaced by a regular file;
a folder, a socket or a block device is an error. A symbolic link is followed: the file it points to is
replaced, the link stays.

Errors name the user's path, never the temporary one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path


def user_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target(path: Path) -> tuple[Path, os.stat_result | None]:
    """``path`` (symbolic links followed when it exists) and its status, or None when it does not exist.

    Raises ``IsADirectoryError`` for a folder and ``OSError`` (EINVAL) for a socket or block device.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # new (a file in the way is named by _make_parent)
        return path, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    if stat.S_ISREG(st.st_mode):
        return Path(os.path.realpath(path)), st
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return path, st
    raise OSError(errno.EINVAL, "not a regular file, a character device or a pipe", str(path))


def _make_parent(path: Path) -> None:
    """Create the folders above ``path``; a file in the way is ``NotADirectoryError`` naming it."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(parent))
    path.parent.mkdir(parents=True, exist_ok=True)


#: errno values of a failed write: an error naming a copy's source and our temporary file is about the latter.
WRITE_ERRORS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def user_path_error(e: OSError, path: Path, temporary: str) -> OSError:
    """``e`` naming the user's ``path`` when it names nothing, or a file whose name starts with
    ``temporary`` (our temporary file or folder)."""
    ours = e.filename is None or str(e.filename).startswith(temporary) or (
        e.errno in WRITE_ERRORS and str(e.filename2 or "").startswith(temporary))
    return type(e)(e.errno, e.strerror, str(path)) if ours else e


@contextlib.contextmanager
def _regular(path: Path, st: os.stat_result | None):
    _make_parent(path)
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~user_umask()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        raise user_path_error(e, path, str(path.parent / f".{path.name}.")) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def _special(path: Path):
    """A temporary file whose bytes are copied into the device or pipe ``path`` once complete."""
    with tempfile.TemporaryDirectory(prefix="commonfactors-") as folder:
        tmp = Path(folder) / path.name
        try:
            yield tmp
            with open(tmp, "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except OSError as e:
            raise user_path_error(e, path, folder) from None


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write to; on success its content ends up in ``path``, on error ``path``
    is left as it was and the temporary file is removed.

    Raises
    ------
    OSError
        ``path`` is a folder (``IsADirectoryError``), a socket or block device, lies under a file
        (``NotADirectoryError``), or cannot be written (permission, space, file size limit); the
        exception's ``filename`` is ``path`` (or the file in the way).
    """
    path, st = _target(Path(path))
    regular = st is None or stat.S_ISREG(st.st_mode)
    with _regular(path, st) if regular else _special(path) as tmp:
        yield tmp


def write_atomic(path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
