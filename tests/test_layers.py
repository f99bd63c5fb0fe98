"""The house's layering: no import cycles, the core never imports the apps or the command line,
the client side never needs the heavy encoder dependencies, and cheap commands start cheaply."""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidquant.fileutil import atomic_path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vidquant"
GOLDEN = ROOT / "tests" / "golden"

# The core: what the codec and its file jobs need. Nothing here may import vidquant.apps or
# vidquant.cli, at the top of a module or deferred inside a function.
OUTER = ("vidquant.apps", "vidquant.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every vidquant module ``path`` imports: top-level, deferred (inside functions) and under
    TYPE_CHECKING alike, each resolved to the module it names (``from a import b`` is ``a.b``
    when that is a module, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                child = f"{module}.{alias.name}"
                found.add(child if child in known else module)
    # The root package is no node: it imports only its version eagerly and resolves its public
    # names lazily (its TYPE_CHECKING block is for type checkers alone).
    return {m for m in found if m in known and m not in (name, "vidquant")}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_walker_sees_deferred_and_relative_imports(tmp_path: Path) -> None:
    # The walker itself, on a made-up module: a test that cannot fail proves nothing.
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "from vidquant.codec import format as fmt\n"
        "if TYPE_CHECKING:\n"
        "    from vidquant.decoder import VqDecoder\n"
        "def f():\n"
        "    from .cli.common import app\n"
    )
    known = {"vidquant", "vidquant.codec", "vidquant.codec.format", "vidquant.decoder"}
    known |= {"vidquant.cli", "vidquant.cli.common"}
    got = _imports(src, "vidquant.m", known)
    assert got == {"vidquant.codec.format", "vidquant.decoder", "vidquant.cli.common"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (deferred imports count): " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_core_never_imports_apps_or_cli() -> None:
    graph = _graph()
    # (``python -m vidquant`` is the command line's second door, not core)
    core = [m for m in graph if m not in ("vidquant", "vidquant.__main__")]
    core = [m for m in core if not m.startswith(OUTER)]
    assert "vidquant.encoder" in core and "vidquant.codec.container" in core
    wrong = {m: sorted(d for d in graph[m] if d.startswith(OUTER)) for m in core}
    wrong = {m: deps for m, deps in wrong.items() if deps}
    assert not wrong, f"core modules importing apps/ or cli/: {wrong}"


def test_apps_never_import_the_cli() -> None:
    graph = _graph()
    wrong = {
        m: sorted(d for d in deps if d.startswith("vidquant.cli"))
        for m, deps in graph.items()
        if m.startswith("vidquant.apps")
    }
    assert not {m: d for m, d in wrong.items() if d}


def test_no_module_is_over_600_lines() -> None:
    long = {}
    for folder in ("vidquant", "benchmarks", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > 600:
                long[str(path.relative_to(ROOT))] = lines
    assert not long, f"modules over 600 lines: {long}"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_decoder_imports_without_sklearn_av_opencv() -> None:
    # The client side: numpy and zstandard only. Blocking the heavy modules makes any import of
    # them fail, and the frames must be the golden file's, pixel for pixel.
    code = (
        "import hashlib, sys\n"
        "for name in ('sklearn', 'av', 'cv2', 'scipy', 'matplotlib', 'PIL', 'typer'):\n"
        "    sys.modules[name] = None  # importing them now raises ImportError\n"
        "import vidquant\n"
        "digest = hashlib.sha256()\n"
        "n = 0\n"
        f"with vidquant.open_vq({str(GOLDEN / 'tiny.vq')!r}) as vq:\n"
        "    for frame in vq.iter_rgb():\n"
        "        digest.update(frame.rgb.tobytes())\n"
        "        n += 1\n"
        "print(n, digest.hexdigest())\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    expected = np.load(GOLDEN / "tiny_frames.npz")["rgb"]
    frames, digest = out.stdout.split()
    assert int(frames) == len(expected) == 6
    assert digest == hashlib.sha256(b"".join(f.tobytes() for f in expected)).hexdigest()


HEAVY = ("av", "cv2", "sklearn", "matplotlib", "numpy")


@pytest.mark.parametrize(
    ("argv", "not_loaded"),
    [
        (["--help"], HEAVY),
        (["--version"], HEAVY),
        (["info", str(GOLDEN / "tiny.vq")], ("av", "cv2", "sklearn", "matplotlib")),
        (["encode", "--help"], HEAVY),
    ],
)
def test_cheap_commands_do_not_load_heavy_modules(argv: list[str], not_loaded: tuple) -> None:
    code = (
        "import sys\n"
        "from vidquant.cli.main import app\n"
        f"try:\n    app({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print('LOADED', [m for m in {not_loaded!r} if m in sys.modules], code)\n"
    )
    out = _run(code)
    last = out.stdout.strip().splitlines()[-1]
    assert last == "LOADED [] 0", (last, out.stderr)


def test_public_api_names() -> None:
    import vidquant

    assert vidquant.__version__ == importlib.metadata.version("vidquant")
    for name, module in vidquant._EXPORTS.items():
        obj = getattr(vidquant, name)
        assert obj is getattr(importlib.import_module(module), name), name
        # each name is defined where the table says, not merely passed through it
        assert obj.__module__ == module, (name, obj.__module__)
    with pytest.raises(AttributeError, match="no_such_name"):
        vidquant.no_such_name  # noqa: B018


def test_all_matches_exports() -> None:
    import vidquant

    assert set(vidquant.__all__) == set(vidquant._EXPORTS) | {"__version__"}


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
