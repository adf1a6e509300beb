import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warpnet.io import atomic
from warpnet.io.atomic import atomic_write, atomic_writer


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_and_replaces(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write(target, bytearray(b"second"))
    assert target.read_bytes() == b"second"
    atomic_write(target, memoryview(b"third"))
    assert target.read_bytes() == b"third"
    assert _leftovers(tmp_path) == []


def test_mode_kept_on_replace_and_umask_on_create(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    target.chmod(0o640)
    atomic_write(target, b"y")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_fsync_before_rename_then_folder(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", stat.S_ISDIR(
        os.fstat(fd).st_mode))), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace",)), real_replace(a, b)))
    atomic_write(tmp_path / "f.bin", b"data")
    assert calls == [("fsync", False), ("replace",), ("fsync", True)]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_keeps_old_file_and_removes_temp(tmp_path, error):
    target = tmp_path / "f.bin"
    atomic_write(target, b"old")
    with pytest.raises(error), atomic_writer(target) as f:
        f.write(b"new but incomplete")
        raise error("stop")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="bytes-like"):
        atomic_write(tmp_path / "f", "text")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "f", b"x")
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, b"x")
    assert list(tmp_path.iterdir()) == []


def test_writer_killed_mid_write_leaves_old_file(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, b"old content")
    script = textwrap.dedent(f"""
        import os, signal
        from warpnet.io.atomic import atomic_writer
        with atomic_writer({str(target)!r}) as f:
            f.write(b"half of the new")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
            f.write(b" content")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"old content"
    (leftover,) = _leftovers(tmp_path)
    assert leftover.startswith(".f.bin.")
    assert (tmp_path / leftover).read_bytes() == b"half of the new"


def test_a_folder_that_refuses_new_files_is_reported_with_the_target_name(tmp_path, monkeypatch):
    # What a read-only folder does (root ignores chmod, so the refusal is simulated).
    def refuse(prefix, suffix, dir):  # noqa: A002 - tempfile.mkstemp's own argument name
        raise PermissionError(13, "Permission denied", str(Path(dir) / f"{prefix}abc{suffix}"))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "model.safetensors", b"x")
    assert info.value.filename == str(tmp_path / "model.safetensors")
    assert info.value.strerror == "Permission denied"
