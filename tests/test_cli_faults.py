"""The command line under faults: nothing of the user's is lost, and every failure is one line.

Each case runs ``python -m commonfactors.cli`` in a real process, as a shell would, and checks the exit
code, that stderr is exactly one line saying what went wrong, and that the user's files (bytes and modes)
are as they were. Faults are real: a full device (``/dev/full``), a file size limit (RLIMIT_FSIZE), files
and folders without permission (as root, the process runs without the capabilities that let root ignore
file modes), signals sent while a report is being built, a build killed with SIGKILL.
"""

import ctypes
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from commonfactors import datasets
from commonfactors.report import _staging
from commonfactors.report._staging import SITE_MARKER

HERE = Path(__file__).parent
BCG_YI_VI = HERE / "conformance" / "inputs" / "model_bcg_RR.csv"  # yi, vi of the 13 BCG trials (RR)
COUNTS = ["--measure", "RR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"]
WRITERS = [["effects", "bcg", *COUNTS, "--format", "csv"], ["datasets", "export", "bcg"]]  # with --out FILE
PROGRESS = re.compile(r"^\[\s*\d+/\d+\] ")


def cli(*args, cwd=None, preexec_fn=None, stdout=subprocess.PIPE, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "commonfactors.cli", *map(str, args)], cwd=cwd,
                          preexec_fn=preexec_fn, stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def start(*args, cwd=None) -> subprocess.Popen:
    """A command in its own process group (Ctrl-C reaches the whole group), SIGINT not ignored."""
    return subprocess.Popen([sys.executable, "-m", "commonfactors.cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def one_line(proc, code: int, *fragments: str) -> str:
    """Exit ``code``, exactly one line on stderr holding every fragment, and no traceback."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict:
    """Every file and folder under ``folder`` (names starting with '.' included): its bytes and mode."""
    return {p.relative_to(folder).as_posix(): (p.is_dir() or p.read_bytes(), stat.S_IMODE(p.lstat().st_mode),
                                               p.is_symlink())
            for p in sorted(folder.rglob("*"))}


def user_files(folder: Path) -> Path:
    """A folder as users have them: a document, a subfolder with notes, their data."""
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.docx").write_bytes(b"PK\x03\x04 chapter one")
    (folder / "sub" / "notes.txt").write_text("notes\n")
    shutil.copy(BCG_YI_VI, folder / "mydata.csv")
    os.chmod(folder / "mydata.csv", 0o640)
    return folder


def previous_site(folder: Path) -> Path:
    """A report folder as a previous run leaves it (with the marker), quick to make."""
    folder.mkdir()
    (folder / SITE_MARKER).write_text("built by commonfactors\n")
    (folder / "index.html").write_text("<p>previous report</p>\n")
    (folder / "README.md").write_text("kept\n")
    return folder


def builds(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".building-" in p.name)


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"finished before {what}: {proc.communicate()}"
        assert time.monotonic() < end, f"no {what} after {timeout} s"
        time.sleep(0.01)


# ------------------------------------------------------------------------------------------------------
# --out never destroys


@pytest.mark.parametrize("input_", ["bcg", "mydata.csv"])
def test_report_refuses_the_current_folder_with_user_files(tmp_path, input_):
    before = snapshot(user_files(tmp_path))
    extra = [] if input_ == "bcg" else ["--yi", "yi", "--vi", "vi"]
    proc = cli("report", input_, *extra, "--quiet", "--out", ".", cwd=tmp_path)
    line = one_line(proc, 2, "Error: .: ")
    assert ("thesis.docx" in line) if input_ == "bcg" else ("holds the input file" in line)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [["report", "bcg"], ["report-all"]])
def test_report_refuses_a_folder_of_user_files(tmp_path, command):
    folder = user_files(tmp_path / "thesis_folder")
    before = snapshot(tmp_path)
    proc = cli(*command, "--quiet", "--out", folder)
    one_line(proc, 2, str(folder), "not a report built by commonfactors", "sub, thesis.docx")
    assert snapshot(tmp_path) == before


def test_a_site_of_an_earlier_version_without_marker_is_replaced(tmp_path):
    old = tmp_path / "site"
    (old / "figures").mkdir(parents=True)
    (old / "index.html").write_text("<html><footer>Built by commonfactors 0.1.0 (Python)</footer></html>")
    (old / "figures" / "pie.png").write_bytes(b"png")
    proc = cli("report", "bcg", "--quiet", "--out", old)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (old / SITE_MARKER).is_file() and not (old / "figures" / "pie.png").exists()


def test_a_folder_whose_index_html_is_not_ours_is_refused(tmp_path):
    folder = tmp_path / "homepage"
    folder.mkdir()
    (folder / "index.html").write_text("<html>my own page</html>")
    before = snapshot(tmp_path)
    one_line(cli("report", "bcg", "--quiet", "--out", folder), 2, "not a report built by commonfactors")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("spelling", ["x.csv", "./x.csv", "absolute", "link.csv"])
def test_effects_refuses_to_overwrite_its_input(tmp_path, spelling):
    shutil.copy(datasets.DATA_DIR / "bcg.csv", tmp_path / "x.csv")
    os.chmod(tmp_path / "x.csv", 0o640)
    (tmp_path / "link.csv").symlink_to("x.csv")
    before = snapshot(tmp_path)
    out = str(tmp_path / "x.csv") if spelling == "absolute" else spelling
    proc = cli("effects", "x.csv", *COUNTS, "--format", "csv", "--out", out, cwd=tmp_path)
    one_line(proc, 2, f"Error: {out}: is the input file", "expected another output file")
    assert snapshot(tmp_path) == before


def test_export_refuses_to_overwrite_the_shipped_file():
    shipped = datasets.DATA_DIR / "bcg.csv"
    before = (shipped.read_bytes(), shipped.stat().st_mtime_ns)
    one_line(cli("datasets", "export", "bcg", "--out", shipped), 2, "is the input file")
    assert (shipped.read_bytes(), shipped.stat().st_mtime_ns) == before


def test_out_to_dev_null_writes_there_and_leaves_the_device():
    proc = cli(*WRITERS[0], "--out", os.devnull)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize("command", WRITERS)
def test_out_pointing_at_a_folder_is_an_error(tmp_path, command):
    user_files(tmp_path)
    before = snapshot(tmp_path)
    one_line(cli(*command, "--out", tmp_path / "sub"), 2, str(tmp_path / "sub"), "is a directory")
    assert snapshot(tmp_path) == before


def test_out_under_a_file_is_an_error(tmp_path):
    user_files(tmp_path)
    before = snapshot(tmp_path)
    proc = cli("effects", "bcg", *COUNTS, "--format", "csv", "--out", tmp_path / "thesis.docx" / "es.csv")
    one_line(proc, 2, str(tmp_path / "thesis.docx"), "is a file, not a folder")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_output_file_mode_follows_the_umask(tmp_path, umask, mode):
    proc = cli("effects", "bcg", *COUNTS, "--format", "csv", "--out", tmp_path / "es.csv",
               preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((tmp_path / "es.csv").stat().st_mode) == mode
    assert (tmp_path / "es.csv").read_text().startswith("trial,author,year,tpos,tneg,cpos,cneg,")


def test_a_replaced_output_file_keeps_its_mode(tmp_path):
    (tmp_path / "es.csv").write_text("old\n")
    os.chmod(tmp_path / "es.csv", 0o640)
    proc = cli("effects", "bcg", *COUNTS, "--format", "csv", "--out", tmp_path / "es.csv")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((tmp_path / "es.csv").stat().st_mode) == 0o640
    assert (tmp_path / "es.csv").read_text() != "old\n"


# ------------------------------------------------------------------------------------------------------
# permissions, full disks, file size limits: one line naming the path


def _without_root_powers() -> None:
    """As root: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from the bounding set, so the
    command (still uid 0, so it can run the interpreter installed under /root) obeys file modes as any
    user does. (Switching to uid 65534 would not do: the interpreter under /root is closed to it.)"""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # <linux/capability.h>
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("command, out", [
    (["effects", "bcg", *COUNTS, "--format", "csv", "--out"], "out.csv"),
    (["report", "bcg", "--quiet", "--out"], "site"),
])
def test_read_only_folder(tmp_path, command, out):
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(BCG_YI_VI, folder / "es.csv")
    os.chmod(folder, 0o555)
    before = snapshot(tmp_path)
    proc = cli(*command, folder / out, preexec_fn=_without_root_powers)
    one_line(proc, 2, f"Error: {folder / out}: permission denied")
    assert snapshot(tmp_path) == before


def test_unreadable_input(tmp_path):
    shutil.copy(BCG_YI_VI, tmp_path / "es.csv")
    os.chmod(tmp_path / "es.csv", 0o000)
    proc = cli("pool", tmp_path / "es.csv", preexec_fn=_without_root_powers)
    one_line(proc, 2, str(tmp_path / "es.csv"), "permission denied")
    assert proc.stdout == ""


def _file_size_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("command, out", [
    (["effects", "bcg", *COUNTS, "--format", "csv", "--out"], "es.csv"),  # ~1.2 kB
    (["datasets", "export", "bcg", "--out"], "bcg.csv"),                  # 783 bytes
    (["datasets", "export", "bcg", "--out"], "bcg.parquet"),
    (["report", "bcg", "--quiet", "--out"], "site"),                      # figures of tens of kB
])
def test_file_size_limit_reached(tmp_path, command, out):
    user_files(tmp_path)
    before = snapshot(tmp_path)
    proc = cli(*command, tmp_path / out, preexec_fn=_file_size_limit(300))
    one_line(proc, 2, f"Error: {tmp_path / out}: file too large")
    assert snapshot(tmp_path) == before  # no output, no temporary file or folder left


@pytest.mark.parametrize("command", [["pool", BCG_YI_VI], ["datasets", "list"],
                                     ["effects", "bcg", *COUNTS, "--format", "csv"]])
def test_standard_output_on_a_full_device(command):
    with open("/dev/full", "w") as full:
        proc = cli(*command, stdout=full)
    one_line(proc, 2, "Error: standard output: no space left on the device")


def test_out_to_a_full_device_is_written_to_not_replaced():
    proc = cli("effects", "bcg", *COUNTS, "--format", "csv", "--out", "/dev/full")
    one_line(proc, 2, "Error: /dev/full: no space left on the device")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_closed_pipe_exits_quietly():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as after `| head -1`
    try:
        proc = cli("pool", BCG_YI_VI, stdout=write)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141


# ------------------------------------------------------------------------------------------------------
# failures inside the program: one line, exit 2 (memory, recursion) or 1 (anything else)

_RAISING = """
import warnings
import commonfactors.cli._common as common
from commonfactors.cli import main

def read_input(*args, **kwargs):
    warnings.warn("a library says\\nsomething on two lines", UserWarning)
    raise {error}

common.read_input = read_input  # before the pool command is imported (on invocation)
main(["pool", "bcg"], prog_name="commonfactors")
"""


@pytest.mark.parametrize("error, code, message", [
    ("MemoryError()", 2, "Error: ran out of memory"),
    ("RecursionError('maximum recursion depth exceeded')", 2,
     "Error: the input is nested too deeply (Python's recursion limit)"),
    ("ZeroDivisionError('float division by zero')", 1,
     "internal error: ZeroDivisionError: float division by zero; please report it"),
])
def test_failures_inside_the_program_are_one_line(error, code, message):
    proc = subprocess.run([sys.executable, "-c", _RAISING.format(error=error)], capture_output=True,
                          text=True, timeout=120)
    lines = proc.stderr.splitlines()
    assert proc.returncode == code, proc.stderr
    assert lines == ["warning: a library says something on two lines", message], proc.stderr


# ------------------------------------------------------------------------------------------------------
# interruptions: one line, no build folder left, the previous site intact


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_report_interrupted(tmp_path, signum, code):
    out = previous_site(tmp_path / "site")
    before = snapshot(tmp_path)
    proc = start("report", "bcg", "--quiet", "--out", out)
    wait_for(lambda: builds(tmp_path), proc, "build folder")
    time.sleep(0.2)
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C: the whole process group
    else:
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert (proc.returncode, stderr, stdout) == (code, "interrupted\n", "")
    assert snapshot(tmp_path) == before


def _report_all_interrupted(tmp_path, signum, code):
    out = previous_site(tmp_path / "reports")
    before = snapshot(tmp_path)
    proc = start("report-all", "--out", out)
    first = proc.stderr.readline()  # the first progress line: model jobs are running in the workers
    assert PROGRESS.match(first), first + proc.stderr.read()
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C reaches the workers too; only the parent reports it
    else:
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=300)
    others = [line for line in stderr.splitlines() if not PROGRESS.match(line)]
    assert (proc.returncode, others, stdout) == (code, ["interrupted"], ""), stderr
    assert snapshot(tmp_path) == before


def test_report_all_interrupted_with_ctrl_c(tmp_path):
    _report_all_interrupted(tmp_path, signal.SIGINT, 130)


@pytest.mark.slow
def test_report_all_interrupted_with_sigterm(tmp_path):
    _report_all_interrupted(tmp_path, signal.SIGTERM, 143)


def test_a_build_killed_with_sigkill_is_cleaned_up_by_the_next_run(tmp_path):
    proc = start("report", "bcg", "--quiet", "--out", tmp_path / "site")
    wait_for(lambda: builds(tmp_path), proc, "build folder")
    proc.kill()
    proc.communicate(timeout=60)
    stale = builds(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(f".site.building-{proc.pid}-")
    alive = tmp_path / f".site.building-{os.getpid()}-running"  # another build, still running
    alive.mkdir()
    done = cli("report", "bcg", "--quiet", "--out", tmp_path / "site")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert builds(tmp_path) == [alive.name]
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / SITE_MARKER).is_file()


def test_rebuild_replaces_a_previous_report_and_keeps_its_readme(tmp_path):
    out = previous_site(tmp_path / "site")
    (out / "stale.html").write_text("from an older build\n")
    proc = cli("report", "bcg", "--quiet", "--out", out)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert (out / "README.md").read_text() == "kept\n"
    assert not (out / "stale.html").exists() and "previous report" not in (out / "index.html").read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------------------------------------
# the site swap: at every instant the old or the new site is in place


class _Watch(threading.Thread):
    """Reads ``index`` continuously; counts reads and the times it was missing."""

    def __init__(self, index: Path):
        super().__init__(daemon=True)
        self.index, self.reads, self.missing, self.stop = index, 0, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                with open(self.index, "rb") as f:
                    f.read()
                self.reads += 1
            except FileNotFoundError:
                self.missing += 1


def _watching(index: Path, rebuild, times: int) -> _Watch:
    watch = _Watch(index)
    watch.start()
    try:
        for _ in range(times):
            rebuild()
    finally:
        watch.stop.set()
        watch.join()
    return watch


def test_site_swap_never_leaves_the_site_missing(tmp_path):
    out = tmp_path / "site"

    def rebuild():
        with _staging.staging(out) as root:
            (root / "index.html").write_text("page\n" * 1000)
            (root / "figures").mkdir()
            for i in range(20):
                (root / "figures" / f"f{i}.png").write_bytes(b"x" * 1000)

    rebuild()
    watch = _watching(out / "index.html", rebuild, 200)
    assert watch.reads > 100 and watch.missing == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_site_swap_without_renameat2_holds_signals_between_the_two_renames(tmp_path, monkeypatch):
    """Where the exchange is unavailable, the two renames run with SIGINT and SIGTERM blocked."""
    out = previous_site(tmp_path / "site")
    blocked = []
    real_replace = os.replace

    def replace(a, b):
        blocked.append({signal.SIGINT, signal.SIGTERM} <= signal.pthread_sigmask(signal.SIG_BLOCK, []))
        real_replace(a, b)

    monkeypatch.setattr(_staging, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", replace)
    with _staging.staging(out) as root:
        (root / "index.html").write_text("new\n")
    assert blocked == [True, True]
    assert (out / "index.html").read_text() == "new\n" and (out / "README.md").read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.slow
def test_rebuilding_a_report_never_leaves_its_index_missing(tmp_path):
    out = tmp_path / "site"
    assert cli("report", "bcg", "--quiet", "--out", out).returncode == 0

    def rebuild():
        proc = cli("report", "bcg", "--quiet", "--out", out)
        assert proc.returncode == 0, proc.stderr

    watch = _watching(out / "index.html", rebuild, 3)
    assert watch.reads > 100 and watch.missing == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_stale_build_of_a_reused_name_is_not_mistaken(tmp_path):
    """Only ``.<name>.building-<pid>-`` folders of the same site name and a finished process are removed."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = int(finished.stdout)
    for name in (f".site.building-{dead}-a", f".other.building-{dead}-a", f".site.building-{os.getpid()}-b",
                 ".site.building-x"):
        (tmp_path / name).mkdir()
    with _staging.staging(tmp_path / "site") as root:
        (root / "index.html").write_text("page\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".other.building-{dead}-a", f".site.building-{os.getpid()}-b", ".site.building-x", "site"])
