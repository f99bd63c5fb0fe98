"""Dependency layering: the client side never needs the heavy encoder dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vidquant.fileutil import atomic_path

ROOT = Path(__file__).resolve().parent.parent


def test_decoder_imports_without_sklearn_av_opencv(tmp_path: Path) -> None:
    golden = ROOT / "tests" / "golden" / "tiny.vq"
    code = (
        "import sys\n"
        "for name in ('sklearn', 'av', 'cv2', 'scipy'):\n"
        "    sys.modules[name] = None  # importing them now raises ImportError\n"
        "import vidquant\n"
        f"with vidquant.open_vq({str(golden)!r}) as vq:\n"
        "    print(sum(1 for _ in vq.iter_rgb()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 0


def test_public_api_names() -> None:
    import vidquant

    for name in vidquant.__all__:
        assert getattr(vidquant, name) is not None
    with pytest.raises(AttributeError):
        vidquant.no_such_name  # noqa: B018


def test_atomic_output_mode_and_cleanup(tmp_path: Path) -> None:
    import os

    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "fail.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_all_matches_exports() -> None:
    import vidquant

    assert set(vidquant.__all__) == set(vidquant._EXPORTS) | {"__version__"}
