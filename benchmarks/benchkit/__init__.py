"""Helpers of the benchmark scripts (``benchmarks/bench_*.py``); not part of vidquant.

The scripts put ``benchmarks/`` on ``sys.path`` and import these modules from there:

- ``procs``: measured child processes and external programs (wall time, peak memory);
- ``jobs``: the jobs a script measures in a child process (vidquant encode and decode, GIF
  decode, WebP, libimagequant), one JSON line each;
- ``machine``: the machine, the checkout and the versions a run was measured with;
- ``quality``: PSNR and flicker of decoded frames against their source;
- ``references``: the FFmpeg GIF reference, as ``bench_codec``, ``bench_corpus`` and
  ``bench_image`` run it;
- ``tables``: tables and verdict words of the reports;
- ``photos``, ``quantisers``, ``pngsize``: the photos, the quantisers and the PNG figures of
  ``bench_image``;
- ``label_coders``: the lossless coders ``bench_labels`` sets beside vidquant's label coder.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
OUT = ROOT / "benchmarks" / "out"  # results and cached inputs, git-ignored
SAMPLES = ROOT / "sample_media"
