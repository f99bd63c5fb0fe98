"""The command line, in process: exit codes, one-line errors, outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cliutil import invoke, one_line_error
from vidquant.cli.common import EXIT_FORMAT, EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE
from vidquant.errors import InputError


def test_encode_info_decode(clip: Path, tmp_path: Path) -> None:
    src = tmp_path / "clip.mp4"
    src.write_bytes(clip.read_bytes())
    result = invoke("encode", src, "-k", "16", "--quiet")
    assert result.exit_code == 0, result.output + result.stderr
    vq = tmp_path / "clip.vq"  # default name: beside the input
    assert vq.exists() and "24 frames" in result.stdout

    result = invoke("info", vq)
    assert result.exit_code == 0
    for needle in (
        "96x64",
        "frames          24",
        "k               16",
        "labels",
        "palettes",
        "overhead",
        "kbps",
    ):
        assert needle in result.stdout, needle

    out = tmp_path / "clip.decoded.mp4"
    result = invoke("decode", vq, "-o", out, "--quiet")
    assert result.exit_code == 0 and out.stat().st_size > 0


def test_never_overwrites_without_force(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.vq"
    assert invoke("encode", clip, "-o", out, "-q").exit_code == 0
    before = out.read_bytes()
    result = invoke("encode", clip, "-o", out, "-q", "-k", "4")
    assert result.exit_code == EXIT_OUTPUT
    assert "--force" in one_line_error(result)
    assert out.read_bytes() == before
    assert invoke("encode", clip, "-o", out, "-q", "-k", "4", "--force").exit_code == 0
    assert out.read_bytes() != before


@pytest.mark.parametrize("k", ["0", "1", "257", "-1"])
def test_bad_k(clip: Path, tmp_path: Path, k: str) -> None:
    result = invoke("encode", clip, "-o", tmp_path / "x.vq", "-k", k)
    assert result.exit_code == EXIT_USAGE
    assert "k must be 2..256" in one_line_error(result)
    assert not (tmp_path / "x.vq").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("encode", "{clip}", "-k", "many"), "Invalid value for '-k'"),
        (("encode",), "Missing argument 'src'"),
        (("encode", "{clip}", "--nope"), "No such option: --nope"),
        (("transcode", "{clip}"), "No such command 'transcode'"),
    ],
)
def test_typer_usage_errors_are_one_line(clip: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(*(a.format(clip=clip) for a in args))
    assert result.exit_code == EXIT_USAGE
    assert message in one_line_error(result)


def test_missing_file_and_not_a_video(tmp_path: Path) -> None:
    result = invoke("encode", tmp_path / "missing.mp4")
    assert result.exit_code == EXIT_INPUT
    assert "not found" in one_line_error(result)
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n")
    result = invoke("encode", text)
    assert result.exit_code == EXIT_INPUT
    assert "cannot open" in one_line_error(result)
    assert not (tmp_path / "notes.vq").exists()


def test_corrupt_vq_is_a_format_error(clip: Path, tmp_path: Path) -> None:
    vq = tmp_path / "c.vq"
    assert invoke("encode", clip, "-o", vq, "-q").exit_code == 0
    data = bytearray(vq.read_bytes())
    data[200] ^= 0xFF
    vq.write_bytes(bytes(data))
    for args in (("info", vq), ("decode", vq, "-o", tmp_path / "c.mp4", "-q")):
        result = invoke(*args)
        assert result.exit_code == EXIT_FORMAT
        assert "offset" in one_line_error(result)
    assert not (tmp_path / "c.mp4").exists(), "a failed decode left a file behind"
    assert not list(tmp_path.glob(".c.*")), "a failed decode left its temporary file"


def test_salvage_decodes_a_cut_file(clip: Path, tmp_path: Path) -> None:
    vq = tmp_path / "c.vq"
    assert invoke("encode", clip, "-o", vq, "-q").exit_code == 0
    data = vq.read_bytes()
    vq.write_bytes(data[: len(data) * 2 // 3])
    assert invoke("decode", vq, "-o", tmp_path / "a.mkv", "-q").exit_code == EXIT_FORMAT
    result = invoke("decode", vq, "-o", tmp_path / "b.mkv", "-q", "--salvage")
    assert result.exit_code == 0, result.stderr
    assert "frames lost in 1 damaged stretch" in result.stderr
    assert "to the end" in result.stderr


def test_config_and_flags(clip: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text("[encode]\nk = 4\nkeyint_s = 0.5\n")
    vq = tmp_path / "c.vq"
    result = invoke(
        "encode",
        clip,
        "-o",
        vq,
        "--config",
        cfg,
        "-k",
        "6",
        "-q",
        "--duration",
        "1",
        "--width",
        "48",
    )
    assert result.exit_code == 0, result.stderr
    assert "k=6" in result.stdout and "12 frames" in result.stdout and "48x32" in result.stdout
    cfg.write_text("[encode]\ncolours = 4\n")
    result = invoke("encode", clip, "-o", tmp_path / "d.vq", "--config", cfg)
    assert result.exit_code == EXIT_USAGE
    assert "'colours'" in one_line_error(result) and "p.toml" in result.stderr


def test_decode_to_png_folder_and_bad_suffix(clip: Path, tmp_path: Path) -> None:
    vq = tmp_path / "c.vq"
    assert invoke("encode", clip, "-o", vq, "-q", "--duration", "0.5").exit_code == 0
    assert invoke("decode", vq, "-o", tmp_path / "frames", "-q").exit_code == 0
    assert len(list((tmp_path / "frames").glob("*.png"))) == 6
    result = invoke("decode", vq, "-o", tmp_path / "out.gif")
    assert result.exit_code == EXIT_OUTPUT
    one_line_error(result)


def test_debug_shows_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    result = invoke("encode", missing, "--debug")
    # the library's own error escapes whole, not an exit code or a one-line message
    assert isinstance(result.exception, InputError), repr(result.exception)
    assert str(missing) in str(result.exception)
    assert "vidquant: error:" not in result.stderr
    # and a real process prints the traceback, ending with that error
    out = subprocess.run(
        [sys.executable, "-m", "vidquant", "encode", str(missing), "--debug"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("Traceback (most recent call last):"), out.stderr
    assert "vidquant.errors.InputError" in out.stderr.splitlines()[-1]
    # without --debug: one line, no traceback
    plain = invoke("encode", missing)
    assert plain.exit_code == EXIT_INPUT and "Traceback" not in plain.stderr
    assert one_line_error(plain)


def test_help_lists_the_everyday_commands_first() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    names = ["encode", "decode", "info", "compare", "explore", "image", "inspect", "play"]
    rows = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ")]
    listed = [name for name in rows if name in names]
    assert listed == names, listed


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and "vidquant" in result.stdout


def test_decode_default_output_beside_input(clip: Path, tmp_path: Path) -> None:
    vq = tmp_path / "c.vq"
    assert invoke("encode", clip, "-o", vq, "-q", "--duration", "0.5").exit_code == 0
    result = invoke("decode", vq, "-q")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "c.decoded.mp4").exists()


def test_unexpected_errors_are_one_line(clip: Path, tmp_path: Path, monkeypatch) -> None:
    import vidquant.encode

    def broken(*args, **kwargs):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(vidquant.encode, "encode_file", broken)
    result = invoke("encode", clip, "-o", tmp_path / "x.vq")
    assert result.exit_code == 1
    assert "internal error: RuntimeError: something broke" in one_line_error(result)


def test_os_errors_are_one_line(clip: Path, tmp_path: Path, monkeypatch) -> None:
    import vidquant.encode

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "x.vq"))

    monkeypatch.setattr(vidquant.encode, "encode_file", full)
    result = invoke("encode", clip, "-o", tmp_path / "x.vq")
    assert result.exit_code == 1
    assert "No space left on device" in one_line_error(result)


def test_start_past_the_end(clip: Path, tmp_path: Path) -> None:
    result = invoke("encode", clip, "-o", tmp_path / "x.vq", "--start", "100")
    assert result.exit_code == EXIT_INPUT
    assert "no frame at or after --start 100 s (the video is 2.00 s long)" in one_line_error(result)


def test_info_survives_foreign_metadata(tmp_path: Path) -> None:
    from fractions import Fraction

    import numpy as np

    from vidquant.codec.container import ContainerWriter
    from vidquant.codec.labels import LabelEncoder
    from vidquant.codec.records import FrameRecord, Header

    vq = tmp_path / "foreign.vq"
    header = Header(4, 2, Fraction(25), Fraction(1, 25), 4, meta={"source": "x", "encoder": 7})
    with open(vq, "wb") as f:
        writer = ContainerWriter(f, header)
        coded = LabelEncoder().encode(np.zeros((2, 4), np.uint8), None)
        mode, payload = coded.mode, coded.payload
        palette = np.zeros((4, 3), np.uint8)
        writer.write_frame(
            FrameRecord(True, 0, 1, mode, np.arange(4, dtype=np.uint8), palette, payload)
        )
        writer.close()
    result = invoke("info", vq)
    assert result.exit_code == 0, result.stderr
    assert "frames          1" in result.stdout


def test_png_folder_is_written_whole_and_force_replaces_old_frames(
    clip: Path, tmp_path: Path
) -> None:
    vq = tmp_path / "c.vq"
    assert invoke("encode", clip, "-o", vq, "-q").exit_code == 0
    out = tmp_path / "frames"
    assert invoke("decode", vq, "-o", out, "-q").exit_code == 0
    assert len(list(out.glob("frame_*.png"))) == 24
    short = tmp_path / "short.vq"
    assert invoke("encode", clip, "-o", short, "-q", "--duration", "0.5").exit_code == 0
    assert invoke("decode", short, "-o", out, "-q").exit_code == EXIT_OUTPUT  # not empty
    assert invoke("decode", short, "-o", out, "-q", "--force").exit_code == 0
    assert len(list(out.glob("frame_*.png"))) == 6, "stale frames of the longer decode remain"
    (out / "notes.txt").write_text("mine")
    data = bytearray(vq.read_bytes())
    data[len(data) // 2] ^= 0xFF
    vq.write_bytes(bytes(data))
    assert invoke("decode", vq, "-o", out, "-q", "--force").exit_code == EXIT_FORMAT
    assert len(list(out.glob("frame_*.png"))) == 6, "a failed decode changed the folder"
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary left"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[encode]\nkeyint = 2\n",
            "unknown setting 'keyint' in config file {cfg}; did you mean 'keyint_s'?",
        ),
        (
            "[encode]\ncolours = 3\n",
            "unknown setting 'colours' in config file {cfg}; known: audio,",
        ),
        ("k = 16\n", "setting 'k' in config file {cfg} must be under the [encode] table"),
        ("[encdoe]\nk = 16\n", "unknown key 'encdoe' in config file {cfg}"),
        ("[encode]\nk = 'many'\n", "config file {cfg}: k must be an integer 2..256, got 'many'"),
        ("[encode]\nk = 300\n", "config file {cfg}: k must be 2..256, got 300"),
        ("[encode]\nk = 16\n[[x", "config file {cfg} is not valid TOML"),
    ],
)
def test_config_file_errors_name_the_key_and_the_file(
    clip: Path, tmp_path: Path, toml: str, message: str
) -> None:
    cfg = tmp_path / "preset.toml"
    cfg.write_text(toml)
    result = invoke("encode", clip, "-c", cfg, "-o", tmp_path / "x.vq")
    assert result.exit_code == EXIT_USAGE
    assert message.format(cfg=cfg) in one_line_error(result)
    assert not (tmp_path / "x.vq").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--keyint", "0"), "--keyint must be 0.04..3600.0, got 0.0"),
        (("--duration", "-1"), "--duration must be 0.001..10000000.0, got -1.0"),
        (("--start", "-2"), "--start must be 0.0..10000000.0, got -2.0"),
        (("--width", "1"), "width must be 2..7680, got 1"),
        (("--audio", "loud"), "audio must be one of copy, opus, none, got 'loud'"),
        (("--max-size", "lots"), "max size must be bytes or a number with k, M or G"),
    ],
)
def test_bad_option_values_are_named_by_their_option(
    clip: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke("encode", clip, *args, "-o", tmp_path / "x.vq")
    assert result.exit_code == EXIT_USAGE
    assert message in one_line_error(result)


def test_output_folder_missing_or_not_writable(clip: Path, tmp_path: Path, monkeypatch) -> None:
    result = invoke("encode", clip, "-o", tmp_path / "nowhere" / "x.vq")
    assert result.exit_code == EXIT_OUTPUT
    assert "output folder does not exist" in one_line_error(result)
    (tmp_path / "file").write_text("not a folder")
    result = invoke("encode", clip, "-o", tmp_path / "file" / "x.vq")
    assert result.exit_code == EXIT_OUTPUT
    one_line_error(result)
    # A folder this process may not write in. Root may write anywhere, so the refusal is
    # made by the file system call itself.
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    for command in (("encode", clip), ("decode", tmp_path / "in.vq")):
        if command[0] == "decode":
            monkeypatch.undo()
            assert invoke("encode", clip, "-o", tmp_path / "in.vq", "-q").exit_code == 0
            monkeypatch.setattr(tempfile, "mkstemp", refuse)
            monkeypatch.setattr(tempfile, "mkdtemp", refuse)
        for out in (tmp_path / "x.mkv", tmp_path / "frames"):
            target = tmp_path / "x.vq" if command[0] == "encode" else out
            result = invoke(*command, "-o", target, "-q")
            assert result.exit_code == EXIT_OUTPUT, result.stderr
            line = one_line_error(result)
            assert f"cannot write in the output folder {tmp_path}: Permission denied" in line
    assert not (tmp_path / "x.vq").exists() and not (tmp_path / "frames").exists()


def test_output_path_that_is_the_input(clip: Path, tmp_path: Path) -> None:
    src = tmp_path / "same.mp4"
    src.write_bytes(clip.read_bytes())
    for args in (("encode", src, "-o", src), ("encode", src, "-o", src, "--force")):
        result = invoke(*args)
        assert result.exit_code == EXIT_OUTPUT
        assert "is the input file" in one_line_error(result)
    assert src.read_bytes() == clip.read_bytes()
    vq = tmp_path / "a.vq"
    assert invoke("encode", clip, "-o", vq, "-q").exit_code == 0
    result = invoke("decode", vq, "-o", vq, "--force")
    assert result.exit_code == EXIT_OUTPUT
    one_line_error(result)
