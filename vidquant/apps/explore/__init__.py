"""The interactive explorer: a local web page to try k (and the palette method) on pictures.

:class:`Explorer` serves one or more sources, still images and videos (files, or the pictures
and videos of a folder), on 127.0.0.1 only, with the standard library's HTTP server. The page
(``explore.html``, ``.js``, ``.css`` in ``static/``) has a source picker, shows the original
and the quantised picture side by side with their figures and asks the JSON API below for each
new setting. Only generated content is served: the page's three fixed files and pictures
computed from the sources named at start, never a file by path.

Endpoints (GET; every query parameter is checked, a bad one gives 400 and a JSON error; ``s``
is a source's index in :attr:`Explorer.files`, 0 when not given):

``/``, ``/explore.js``, ``/explore.css``
    The page.
``/api/sources``
    The sources (name, file size, and what is known once opened), the k range, the methods.
``/api/source?s=S``
    Source ``s``, opened if it was not yet: kind (image or video), name, sizes, frames, rate,
    the k range, methods. A source that cannot be read gives 404 and its error.
``/api/quantize?s=S&k=K&t=SECONDS&method=M``
    Figures of the frame shown at ``t`` (0 for a still; optional) quantised to ``k`` colours
    with ``method`` (optional: the explorer's default), and the URLs of both pictures.
``/img/original?s=S&t=SECONDS``, ``/img/quantized?s=S&k=K&t=SECONDS&method=M``
    The pictures as PNG (the quantised one is the indexed PNG whose size the figures give).

Sources are opened lazily, when first asked for (a folder of 200 photos starts at once), and
kept open: a small record each. Results are kept in bounded least-recently-used caches shared
by all sources (decoded frames by source and frame, results by source, frame, k and method),
and a result is computed once even when several requests ask for it at the same time. All
the reading and quantising goes through one gate: at most ``slots`` computations at a time,
and at most ``queue`` requests waiting for one; a request beyond those is turned away (503,
"busy") rather than queued, so a flood of distinct settings cannot take the computer's memory
and cores. After each result the neighbouring k values are computed in the background, so that
stepping the slider by one shows a ready answer, but only in a slot nobody waits for.

The rooms, each importing only those listed before it: :mod:`.types` (SourceFile, SourceInfo,
Result, ExploreStats, Busy), :mod:`.sources` (finding and measuring the sources), :mod:`.cache`
(the gate and the caches), :mod:`.api` (query checks and JSON, against the small
:class:`~.api.Backend` protocol), :mod:`.http` (the server, its handler and its life) and
:mod:`.explorer` (:class:`Explorer`, a Backend that composes a :class:`~.http.LocalService`).
"""

from vidquant.apps.explore.explorer import Explorer
from vidquant.apps.explore.http import HOST
from vidquant.apps.explore.types import Busy, ExploreStats, Result, SourceFile, SourceInfo

__all__ = ["HOST", "Busy", "ExploreStats", "Explorer", "Result", "SourceFile", "SourceInfo"]
