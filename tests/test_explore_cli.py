"""``vidquant explore`` on the command line: in a real process until Ctrl-C, and its one-line
errors before serving."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from cliutil import invoke, one_line_error
from exploreutil import fetch, port_is_closed, start_cli
from vidquant.cli.common import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_ctrl_c(photo: Path, signum: int) -> None:
    proc, url = start_cli(photo, "--port", "0", "-k", "6")
    try:
        code, headers, page = fetch(url)
        assert code == 200 and b'id="quantized"' in page
        assert headers["Content-Type"].startswith("text/html")
        code, _, body = fetch(url + "api/source")
        assert code == 200 and json.loads(body)["k"] == 6
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "stopped" and err == ""
    assert port_is_closed(int(url.rsplit(":", 1)[1].strip("/")))


def test_cli_errors_are_one_line_before_serving(serve, photo: Path, tmp_path: Path) -> None:
    result = invoke("explore", tmp_path / "missing.jpg")
    assert result.exit_code == EXIT_INPUT and "serving" not in result.stdout
    assert "input file not found" in one_line_error(result)
    result = invoke("explore", photo, "-k", "300")
    assert result.exit_code == EXIT_USAGE
    assert "-k must be 2..256, got 300" in one_line_error(result)
    result = invoke("explore", photo, tmp_path / "missing.jpg")  # checked before serving
    assert result.exit_code == EXIT_INPUT
    assert f"input file not found: {tmp_path / 'missing.jpg'}" in one_line_error(result)
    busy = serve(photo, prefetch=False).server_address[1]
    result = invoke("explore", photo, "--port", busy)
    assert result.exit_code == EXIT_OUTPUT
    assert f"cannot serve on 127.0.0.1:{busy}" in one_line_error(result)


def test_cli_explores_a_folder_and_refuses_an_empty_one(folder: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("explore", empty)
    assert result.exit_code == EXIT_INPUT
    assert f"no pictures or videos to explore in {empty}" in one_line_error(result)
    (empty / "readme.md").write_text("nothing to see")
    result = invoke("explore", empty)
    assert result.exit_code == EXIT_INPUT and "(1 other file skipped)" in one_line_error(result)

    proc, url = start_cli(folder)
    try:
        code, _, body = fetch(url + "api/sources")
        assert code == 200 and len(json.loads(body)["sources"]) == 4
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and out.splitlines()[-1] == "stopped"
    assert (
        err == f"vidquant: warning: {folder}: skipped 1 of 5 files (neither a picture nor a "
        "video, by the name's suffix)\n"
    )
