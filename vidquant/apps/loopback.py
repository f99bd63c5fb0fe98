"""Who may talk to a page served on this computer: the checks the explorer and the browser
player's server share.

Both serve on 127.0.0.1 only. That alone does not keep other web pages out: a page whose name
resolves to 127.0.0.1 reaches the server from the user's browser (DNS rebinding), and any page
the user visits can make the browser send it requests. :func:`refusal` says why a request is
refused, or None.
"""

from __future__ import annotations

from collections.abc import Mapping

HOST = "127.0.0.1"  # loopback only: the pages show the user's files to whoever connects
# Sec-Fetch-Site values of requests that a page of this server, or no page at all (an address
# typed or a bookmark; curl sends no header), made.
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def refusal(headers: Mapping[str, str], port: int) -> str | None:
    """Why a request with these ``headers`` to the server on ``port`` is refused (None: it is
    not): its Host must name this server, and a browser's request must come from this
    server's own page (``Sec-Fetch-Site``, ``Origin``); clients that are no browser send
    neither."""
    own = (f"{HOST}:{port}", f"localhost:{port}")
    host = headers.get("Host")
    if host is not None and host not in own:
        return f"unexpected Host header {host!r}"
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in OWN_FETCH_SITES:
        return f"refused a request from another site ({site})"
    origin = headers.get("Origin")
    if origin is not None and origin not in tuple(f"http://{o}" for o in own):
        return f"refused a request from origin {origin!r}"
    return None
