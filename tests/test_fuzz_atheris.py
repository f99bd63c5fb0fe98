"""The atheris harnesses (tests/fuzz/fuzz_container.py, fuzz_labels.py, fuzz_blocks.py) in
subprocesses: a short
coverage-guided run of each, and their plain-Python modes. See tests/fuzz/README.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.profiles import ATHERIS_SECONDS, report

pytestmark = pytest.mark.fuzz

FUZZ_DIR = Path(__file__).resolve().parent / "fuzz"

HARNESSES = {
    "fuzz_container.py": "container",
    "fuzz_labels.py": "labels",
    "fuzz_blocks.py": "blocks",
}


@pytest.fixture(scope="module")
def atheris_runs(tmp_path_factory):
    """Start the harnesses at once; each test waits for its own."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    from vidquant.codec.blocklabels import compile_kernels

    # numba's cache is filled here (the label coder's kernels and the palette lookup), so no
    # harness compiles a kernel inside its time budget (under load, a first compile in an
    # instrumented process outlasted the test's wait)
    compile_kernels()
    runs = {}
    for name in HARNESSES:
        work = tmp_path_factory.mktemp(name.removesuffix(".py"))
        log = open(work / "fuzz.log", "w")  # noqa: SIM115 - closed below
        cmd = [
            sys.executable,
            str(FUZZ_DIR / name),
            f"-max_total_time={ATHERIS_SECONDS}",
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-print_final_stats=1",
            f"-artifact_prefix={work}/",
            str(work / "corpus"),
        ]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        runs[name] = (proc, work, log)
    yield runs
    for proc, _, log in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.timeout(ATHERIS_SECONDS * 2 + 120)
@pytest.mark.parametrize("harness", HARNESSES)
def test_atheris_harness(atheris_runs, harness, capsys):
    proc, work, log = atheris_runs[harness]
    try:
        proc.wait(timeout=ATHERIS_SECONDS * 2 + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.flush()
    text = (work / "fuzz.log").read_text(errors="replace")
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text) or re.search(
        r"Done (\d+) runs", text
    )
    rate = re.search(r"stat::average_exec_per_sec:\s*(\d+)", text)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    report(
        capsys,
        f"atheris {harness}: {runs.group(1) if runs else '?'} inputs in {ATHERIS_SECONDS} s "
        f"({rate.group(1) if rate else '?'}/s), final cov/ft/corpus "
        f"{'/'.join(cov[-1]) if cov else '?'}",
    )
    artifacts = [p.name for p in work.iterdir() if p.name.split("-")[0] in
                 ("crash", "timeout", "oom", "leak", "slow")]  # fmt: skip
    tail = "\n".join(text.splitlines()[-60:])
    assert proc.returncode == 0 and not artifacts, (
        f"{harness} exited with {proc.returncode}, artifacts {artifacts} in {work}; "
        f"reproduce with: python {FUZZ_DIR / harness} <artifact>\n{tail}"
    )
    assert runs and int(runs.group(1)) > 0, tail


def test_harness_plain_python_modes(tmp_path):
    """The harnesses' --write-seeds and --replay modes (they need no atheris): the seeds are
    written and every seed passes its check when replayed."""
    for harness, kind in HARNESSES.items():
        script = str(FUZZ_DIR / harness)
        seeds = tmp_path / kind
        subprocess.run([sys.executable, script, "--write-seeds", str(seeds)], check=True)
        files = sorted(str(p) for p in seeds.iterdir())
        assert files
        replay = subprocess.run(
            [sys.executable, script, "--replay", *files], capture_output=True, text=True
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert replay.stdout.count(": ok (") == len(files)
