"""`vidquant image`: indexed PNG, one-frame .vq, the report's figures, sources and errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cliutil import invoke, one_line_error
from media import synthetic_frame
from vidquant.apps import still
from vidquant.apps.still import compare_methods, quantize_file, quantize_image
from vidquant.colours import colour_histogram, count_colours, nearest_entries
from vidquant.decoder import open_vq
from vidquant.errors import InputError, SettingsError
from vidquant.io.image import indexed_png, read_picture
from vidquant.metrics import psnr
from vidquant.palette import METHODS, fit_palette
from vidquant.quantize import nearest_labels

ROOT = Path(__file__).resolve().parent.parent
CHINA = ROOT / "sample_media" / "china.jpg"


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 160x96 photo-like JPEG (gradients, a disc, noise)."""
    path = tmp_path_factory.mktemp("photo") / "photo.jpg"
    Image.fromarray(synthetic_frame(0, 160, 96)).save(path, quality=92)
    return path


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_indexed_png_holds_the_quantised_picture_and_the_report_agrees(photo, tmp_path):
    dst, vq = tmp_path / "out.png", tmp_path / "out.vq"
    report = quantize_file(photo, dst, 16, vq=vq)
    with Image.open(dst) as im:
        assert im.mode == "P", "not an indexed PNG"
        assert len(im.getcolors(256)) <= 16
    r = report.result
    original = _pixels(photo)
    written = _pixels(dst)
    assert np.array_equal(written, r.rgb), "the PNG is not the quantised picture"
    assert report.png_bytes == dst.stat().st_size
    assert report.source_bytes == photo.stat().st_size
    assert report.ratio == pytest.approx(photo.stat().st_size / dst.stat().st_size)
    assert r.colours_before == count_colours(original)
    assert r.colours_after == count_colours(written) <= 16
    assert r.psnr_db == pytest.approx(psnr(original, written))
    assert r.psnr_db > 20.0, f"k=16 on a smooth picture: {r.psnr_db:.2f} dB"
    # The one-frame .vq decodes to the very same labels and palette (bit-exact).
    with open_vq(vq) as dec:
        frames = list(dec.iter_frames())
    assert len(frames) == 1 and frames[0].keyframe
    assert np.array_equal(frames[0].palette[frames[0].labels], written)
    assert report.vq_bytes == vq.stat().st_size


def test_fewer_colours_than_k_are_kept_exactly(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, 10:] = (200, 30, 40)
    rgb[5:9, :] = (1, 2, 3)
    for method in METHODS:
        r = quantize_image(rgb, 8, method=method)
        assert np.array_equal(r.rgb, rgb), method
        assert r.psnr_db == float("inf") and r.colours_after == 3


def test_psnr_rises_with_k_and_the_random_codebook_is_worst():
    rgb = _pixels(CHINA)[::2, ::2]
    low, high = quantize_image(rgb, 4), quantize_image(rgb, 32)
    assert high.psnr_db > low.psnr_db + 3, (low.psnr_db, high.psnr_db)
    results = {r.method: r for r in compare_methods(rgb, 16)}
    assert list(results) == list(METHODS)
    for method in ("minibatch", "kmeans", "mediancut", "agglomerative"):
        assert results[method].psnr_db > results["random"].psnr_db, method
    assert all(r.colours_after <= 16 and r.fit_s > 0 and r.assign_s > 0 for r in results.values())


def test_exif_orientation_is_applied(tmp_path):
    rgb = synthetic_frame(0, 60, 40)
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; show rotated 90 degrees clockwise
    Image.fromarray(rgb).save(path, exif=exif, quality=95)
    picture = read_picture(path)
    assert picture.rgb.shape == (60, 40, 3)
    assert picture.codec == "jpeg"


@pytest.mark.parametrize("kind", ["grey16", "palette_alpha", "cmyk", "rgba", "grey"])
def test_unusual_picture_modes_are_read(tmp_path, kind, caplog):
    rgb = synthetic_frame(1, 48, 32)
    path = tmp_path / f"{kind}.png"
    if kind == "grey16":
        grey = (rgb[:, :, 0].astype(np.uint16) * 257).astype(np.uint16)
        Image.fromarray(grey).save(path)  # mode I;16
        expected = rgb[:, :, 0]
    elif kind == "palette_alpha":
        im = Image.fromarray(rgb).quantize(8)
        im.info["transparency"] = 0
        im.save(path, transparency=0)
        expected = None
    elif kind == "cmyk":
        path = path.with_suffix(".jpg")
        Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
        expected = None
    elif kind == "rgba":
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
        Image.fromarray(rgba).save(path)
        expected = rgb
    else:
        Image.fromarray(rgb[:, :, 1]).save(path)
        expected = rgb[:, :, 1]
    picture = read_picture(path)
    assert picture.rgb.shape == (32, 48, 3) and picture.rgb.dtype == np.uint8
    if expected is not None and expected.ndim == 2:
        assert np.array_equal(picture.rgb[:, :, 0], expected)
    elif expected is not None:
        assert np.array_equal(picture.rgb, expected)
    else:
        assert psnr(picture.rgb, rgb) > 18
    assert picture.alpha_dropped == (kind in ("palette_alpha", "rgba"))


def test_a_video_source_gives_its_frame_at_time(clip, tmp_path):
    first = read_picture(clip)
    later = read_picture(clip, time_s=1.0)
    assert later.time_s == 1.0 and first.rgb.shape == later.rgb.shape
    assert not np.array_equal(first.rgb, later.rgb)
    with pytest.raises(InputError, match="no frame at or after 60 s"):
        read_picture(clip, time_s=60.0)


def test_an_animated_gif_is_read_as_video(tmp_path):
    frames = [Image.fromarray(synthetic_frame(i * 10, 40, 30)).quantize(32) for i in range(6)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    first, later = read_picture(path), read_picture(path, time_s=0.35)
    assert later.time_s == 0.35 and not np.array_equal(first.rgb, later.rgb)


def test_library_errors_say_whose_fault(photo, tmp_path):
    with pytest.raises(SettingsError, match="k must be 2..256, got 300"):
        quantize_file(photo, tmp_path / "o.png", 300)
    with pytest.raises(SettingsError, match="--method must be one of"):
        quantize_file(photo, tmp_path / "o.png", 16, method="octree")
    with pytest.raises(SettingsError, match=r"-o must name a \.png file"):
        quantize_file(photo, tmp_path / "o.gif", 16)
    with pytest.raises(InputError):
        quantize_file(tmp_path / "missing.jpg", tmp_path / "o.png", 16)
    assert not list(tmp_path.iterdir()), "a failed call left files behind"


# --- the command line ---------------------------------------------------------------------


def test_cli_writes_the_png_and_reports_the_figures(photo, tmp_path):
    dst = tmp_path / "q.png"
    result = invoke("image", photo, "-k", 8, "-o", dst, "--vq", tmp_path / "q.vq")
    assert result.exit_code == 0, result.output
    out = result.stdout
    colours = count_colours(_pixels(photo))
    assert f"160x96, {colours:,} colours" in out
    value = psnr(_pixels(photo), _pixels(dst))
    assert f"PSNR {value:.2f} dB" in out
    size = dst.stat().st_size
    assert f"{size / 1000:,.1f} kB indexed PNG" in out
    ratio = photo.stat().st_size / size
    assert (f"{ratio:.2f}x smaller" if ratio >= 1 else f"{1 / ratio:.2f}x LARGER") in out
    assert "one-frame .vq" in out and (tmp_path / "q.vq").exists()


def test_cli_default_output_name_and_overwrite_policy(photo, tmp_path):
    src = tmp_path / "p.jpg"
    src.write_bytes(photo.read_bytes())
    assert invoke("image", src, "-k", 4, "--seed", 1).exit_code == 0
    assert (tmp_path / "p.k4.png").exists()
    again = invoke("image", src, "-k", 4)
    assert again.exit_code == 5 and "use --force" in one_line_error(again)
    assert invoke("image", src, "-k", 4, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["-k", "1"], 2, "k must be 2..256, got 1"),
        (["--method", "octree"], 2, "--method must be one of minibatch, kmeans"),
        (["-o", "x.jpg"], 2, "-o must name a .png file"),
        (["--compare-methods", "--method", "kmeans"], 2, "takes no -o, --vq or --method"),
        (["--grid", "g.png"], 2, "--grid goes with --compare-methods"),
        (["--time", "-1"], 2, "--time must be >= 0"),
    ],
)
def test_cli_bad_calls_are_one_line_usage_errors(photo, tmp_path, args, code, text):
    args = [str(tmp_path / a) if a.endswith((".jpg", ".png")) else a for a in args]
    result = invoke("image", photo, *args)
    assert result.exit_code == code
    assert text in one_line_error(result)


def test_cli_bad_sources_are_input_errors(tmp_path):
    missing = invoke("image", tmp_path / "nope.jpg")
    assert missing.exit_code == 3 and "nope.jpg" in one_line_error(missing)
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture at all\n" * 20)
    bad = invoke("image", text, "-o", tmp_path / "o.png")
    assert bad.exit_code == 3, bad.output
    one_line_error(bad)
    cut = tmp_path / "cut.jpg"
    Image.fromarray(synthetic_frame(0, 200, 120)).save(tmp_path / "whole.jpg", quality=95)
    cut.write_bytes((tmp_path / "whole.jpg").read_bytes()[:1500])
    truncated = invoke("image", cut, "-o", tmp_path / "o.png")
    assert truncated.exit_code == 3, truncated.output
    one_line_error(truncated)
    assert not (tmp_path / "o.png").exists()


def test_cli_compare_methods_prints_a_table_and_draws_a_grid(photo, tmp_path):
    grid = tmp_path / "grid.png"
    result = invoke("image", photo, "--compare-methods", "-k", 8, "--grid", grid)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.strip().startswith("│")]
    for method in METHODS:
        assert any(method in row for row in rows), f"no table row for {method}"
    with Image.open(grid) as im:
        assert im.format == "PNG" and im.width > 400


def test_cli_pictures_are_drawn(photo, tmp_path):
    folder = tmp_path / "pics"
    result = invoke("image", photo, "-k", 6, "-o", tmp_path / "q.png", "--pictures", folder)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["photo.k6.palette.png", "photo.k6.scatter.png", "photo.k6.side_by_side.png"]
    for name in names:
        with Image.open(folder / name) as im:
            assert im.format == "PNG"


# --- exact labels, the Lloyd passes and the PNG writer ------------------------------------


def test_still_labels_are_the_exact_nearest_entries():
    rgb = _pixels(CHINA)[::3, ::3]
    r = quantize_image(rgb, 64)
    px = rgb.reshape(-1, 3).astype(np.int64)
    d = ((px[:, None, :] - r.palette[None].astype(np.int64)) ** 2).sum(axis=2)
    assert np.array_equal(r.labels.reshape(-1), d.argmin(axis=1))


def test_nearest_entries_break_ties_to_the_lowest_index():
    palette = np.array([[50, 50, 50], [12, 10, 10], [10, 10, 10]], np.uint8)
    colours = np.array([[11, 10, 10], [13, 10, 10], [49, 50, 50]], np.uint8)
    # (11, 10, 10) is 1 from entries 1 and 2: the lower index wins
    assert nearest_entries(colours, palette).tolist() == [1, 1, 0]


def test_lloyd_passes_never_lower_the_psnr():
    rgb = _pixels(CHINA)[::2, ::2]
    palette = fit_palette(rgb, 32, "minibatch")
    before = psnr(rgb, palette[nearest_labels(rgb, palette)])
    colours, counts, _ = colour_histogram(rgb)
    refined = still._lloyd(colours, counts, palette, passes=still.LLOYD_PASSES)
    after = psnr(rgb, refined[nearest_labels(rgb, refined)])
    assert after >= before - 0.01, (before, after)
    assert quantize_image(rgb, 32).psnr_db == pytest.approx(after)


@pytest.mark.parametrize("colours", [1, 2, 3, 4, 5, 16, 17, 256])
def test_indexed_png_depth_follows_the_palette_and_decodes_exactly(colours):
    rng = np.random.default_rng(colours)
    palette = rng.integers(0, 256, (colours, 3)).astype(np.uint8)
    for h, w in ((1, 1), (3, 7), (17, 33)):
        labels = rng.integers(0, colours, (h, w)).astype(np.uint8)
        data = indexed_png(labels, palette)
        depth = next(d for d in (1, 2, 4, 8) if colours <= 1 << d)
        assert data[24] == depth and data[25] == 3, "IHDR: bit depth, colour type 3"
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            assert im.mode == "P" and im.size == (w, h)
            assert np.array_equal(np.asarray(im.convert("RGB")), palette[labels])


# --- found in review ------------------------------------------------------------------------


def _sparse(path: Path) -> Path:
    """Black with 20 single pixels of other colours: a pixel sample sees black only."""
    rgb = np.zeros((400, 400, 3), np.uint8)
    rng = np.random.default_rng(0)
    for _ in range(20):
        rgb[rng.integers(0, 400), rng.integers(0, 400)] = rng.integers(1, 256, 3)
    Image.fromarray(rgb).save(path)
    return path


def test_rare_colours_fill_the_palette_and_scikit_learn_stays_quiet(tmp_path):
    src = _sparse(tmp_path / "sparse.png")
    for r in compare_methods(_pixels(src), 16):
        assert len(r.palette) == 16 and r.colours_after == 16, r.method
    result = invoke("image", src, "--compare-methods", "-k", 16, "--grid", tmp_path / "g.png")
    assert result.exit_code == 0 and result.stderr == "", result.stderr


def test_the_random_codebook_draws_pixels_not_colours():
    rgb = np.zeros((100, 100, 3), np.uint8)
    rgb[:, :2] = np.arange(200, dtype=np.uint8).reshape(100, 2, 1)  # 200 rare colours
    palette = fit_palette(rgb, 8, "random", seed=3)
    assert [0, 0, 0] in palette.tolist(), "the colour of 98 % of the pixels was not drawn"


def test_pictures_beyond_the_video_limit_make_a_png_but_no_vq(tmp_path):
    src = tmp_path / "tall.png"
    Image.fromarray(np.tile(synthetic_frame(0, 40, 40), (111, 1, 1))).save(src)  # 40x4440
    ok = invoke("image", src, "-k", 4, "-o", tmp_path / "t.png")
    assert ok.exit_code == 0, ok.output
    refused = invoke("image", src, "-k", 4, "-o", tmp_path / "u.png", "--vq", tmp_path / "u.vq")
    assert refused.exit_code == 2
    assert "a .vq frame is at most 7680x4320" in one_line_error(refused)
    assert not (tmp_path / "u.png").exists() and not (tmp_path / "u.vq").exists()


def test_not_a_time_is_a_usage_error(clip):
    for value in ("nan", "inf"):
        result = invoke("image", clip, "--time", value)
        assert result.exit_code == 2 and "--time must be >= 0" in one_line_error(result)


def test_a_tiny_picture_says_its_png_is_larger_than_raw(tmp_path):
    src = tmp_path / "dot.png"
    Image.fromarray(np.array([[[200, 10, 10]]], np.uint8)).save(src)
    result = invoke("image", src, "-k", 2, "-o", tmp_path / "d.png")
    assert result.exit_code == 0 and "LARGER than raw RGB" in result.stdout


def test_inspect_compares_a_still_vq_with_the_frame_it_came_from(sample, tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(sample.read_bytes())
    report = quantize_file(src, tmp_path / "f.png", 32, vq=tmp_path / "f.vq", time_s=6.0)
    result = invoke("inspect", tmp_path / "f.vq", "-o", tmp_path / "pics")
    assert result.exit_code == 0, result.output
    assert f"PSNR {report.result.psnr_db:.2f} dB" in result.stdout
