"""The browser decoder ``vidquant/web/vq.js`` against the Python decoder, under ``node --test``.

This test makes the fixtures in a temporary directory: ``.vq`` files (clips encoded by
``encode_file``, files crafted record by record, 3.0 and 2.0 re-packs of 4.0 encodes, and
mutants with their CRCs fixed up) and ``expected.json``, what the Python decoder makes of each
(per frame: pts, duration, keyframe and CRC-32s of labels and palette; audio packets; the index;
or the error it stops with). It then runs ``node --test tests/js/`` with ``VQ_JS_FIXTURES``
naming that directory. Without the variable the node tests decode only the committed golden
files. Node 20 is required (CI installs it): a missing ``node`` fails this test.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidquant.codec.blocklabels import BlockLabelEncoder
from vidquant.codec.container import ContainerWriter
from vidquant.codec.records import FrameRecord, Header
from vidquant.decoder import open_vq
from vidquant.encode import encode_file
from vidquant.settings import EncodeSettings

ROOT = Path(__file__).resolve().parent.parent
JS_TESTS = ROOT / "tests" / "js"
GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "sample_media" / "sample.mp4"
ENV = "VQ_JS_FIXTURES"
MAGIC = b"\x89VQUANT\n"

# -- records, packed from FORMAT.md (independent of the writer) -------------------------------


def record(tag: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(tag))
    return struct.pack("<4sI", tag, len(payload)) + payload + struct.pack("<I", crc)


def walk(data: bytes) -> list[tuple[int, bytes, int, int]]:
    """(offset, tag, payload start, end) of every record after the preamble."""
    out, off = [], 12
    while off + 8 <= len(data):
        tag, length = struct.unpack_from("<4sI", data, off)
        end = off + 12 + length
        if end > len(data):
            break
        out.append((off, tag, off + 8, end))
        off = end
    return out


def varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def split_v4_frame(payload: bytes) -> tuple[int, int, int, int, int]:
    """(mode, pts, duration, n, header size) of a 4.x frame header."""
    mode = payload[0]
    pts, p = read_varint(payload, 1)
    dur, p = read_varint(payload, p)
    n, p = read_varint(payload, p)
    return mode, pts, dur, n, p


def frame_header(major: int, mode: int, pts: int, dur: int, n: int) -> bytes:
    if major >= 4:
        return bytes([mode]) + varint(pts) + varint(dur) + varint(n)
    return struct.pack("<qqBH", pts, dur, mode, n)


def head_payload(
    w: int, h: int, k: int, *, coder: int = 3, alpha: int = 0xFFFF, meta: bytes = b""
) -> bytes:
    return struct.pack("<IIIIIIHBBH", w, h, 25, 1, 1, 1000, k, coder, 0, alpha) + meta


def assemble(
    major: int,
    minor: int,
    head: bytes,
    body: list[tuple[bytes, bytes]],
    *,
    pre: list[bytes] = (),
) -> bytes:
    """Preamble, HEAD, ``pre`` records, ``body`` (tag, payload) records, INDX and TAIL."""
    out = bytearray(MAGIC + struct.pack("<HH", major, minor))
    out += record(b"HEAD", head)
    for r in pre:
        out += r
    first = len(out)
    entries, frames, end_pts = [], 0, 0
    for tag, payload in body:
        if tag == b"KFRM":
            pts = split_v4_frame(payload)[1] if major >= 4 else struct.unpack_from("<q", payload)[0]
            entries.append(struct.pack("<IqQ", frames, pts, len(out)))
        if tag in (b"KFRM", b"PFRM"):
            if major >= 4:
                _, pts, dur, _, _ = split_v4_frame(payload)
            else:
                pts, dur = struct.unpack_from("<qq", payload)
            frames += 1
            end_pts = pts + dur
        out += record(tag, payload)
    assert first <= len(out)
    index_offset = len(out)
    out += record(b"INDX", struct.pack("<I", len(entries)) + b"".join(entries))
    out += record(b"TAIL", struct.pack("<IIQq", frames, len(entries), index_offset, end_pts))
    return bytes(out)


def repack(data: bytes, major: int, coder: int | None = None) -> bytes:
    """A 4.0 file as a ``major`` file: 19-byte frame headers; label coder 2 re-encodes maps."""
    recs = walk(data)
    head = bytearray(data[recs[0][2] : recs[0][3] - 4])
    w, h = struct.unpack_from("<II", head)
    k = struct.unpack_from("<H", head, 24)[0]
    if coder is not None:
        head[26] = coder
    labels = []
    if coder == 2:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "repack.vq"
            path.write_bytes(data)
            with open_vq(path) as d:
                labels = [f.labels.copy() for f in d.iter_frames()]
        enc = BlockLabelEncoder(w, h, k, label_coder=2)
    pre, body, i, prev = [], [], 0, None
    for _off, tag, start, end in recs[1:]:
        payload = data[start : end - 4]
        if tag in (b"KFRM", b"PFRM"):
            mode, pts, dur, n, p = split_v4_frame(payload)
            s = 3 if tag == b"KFRM" else 4
            pal, lab = payload[p : p + n * s], payload[p + n * s :]
            if coder == 2:
                code = enc.encode(labels[i], None if tag == b"KFRM" else prev)
                mode, lab = code.mode, bytes(code.payload)
                prev = labels[i]
            i += 1
            body.append((tag, frame_header(major, mode, pts, dur, n) + pal + lab))
        elif tag in (b"INDX", b"TAIL"):
            break
        elif tag == b"ahdr":
            pre.append(data[_off:end])
        else:
            body.append((tag, payload))
    return assemble(major, 0, bytes(head), body, pre=pre)


# -- source clips -----------------------------------------------------------------------------


def write_video(path: Path, frames: list[np.ndarray], *, fps: int = 12, audio: bool = False):
    """RGB frames as a lossless FFV1 Matroska file (any size, odd ones too)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("ffv1", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "bgr0"
        if audio:
            a = c.add_stream("aac", rate=48000, layout="stereo")
        for f in frames:
            vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="bgr0")
            c.mux(s.encode(vf))
        c.mux(s.encode(None))
        if audio:
            n = int(48000 * len(frames) / fps)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48000, 0
            c.mux(a.encode(af))
            c.mux(a.encode(None))
    return path


def pan(w: int, h: int, n: int, seed: int = 0) -> list[np.ndarray]:
    """Gradients, a moving disc and noise, panning: INTER and CODED blocks with vectors."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        s = 3.0 * i
        rgb = np.stack(
            [
                128 + 100 * np.sin((x + s) / 17.0),
                128 + 100 * np.cos((y - s / 2) / 13.0),
                255 * ((x + y + s) % 47) / 47.0,
            ],
            axis=-1,
        )
        disc = (x - (w * (0.2 + 0.05 * i)) % w) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 5) ** 2
        rgb[disc] = (240, 40, 30)
        rgb += rng.normal(0, 2.0, rgb.shape)
        out.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return out


def screen(w: int, h: int, n: int, seed: int = 1) -> list[np.ndarray]:
    """Flat 'text': repeated glyphs on a flat page, one more typed per frame, and a cursor
    that moves: IBC in intra and predicted maps, SKIP, CODED."""
    rng = np.random.default_rng(seed)
    glyphs = rng.integers(0, 2, size=(6, 8, 8)).astype(bool)
    page = np.full((h, w, 3), 235, np.uint8)
    spots = [(gy, gx) for gy in range(2, h - 9, 12) for gx in range(4, w - 9, 9)]
    order = rng.permutation(len(spots))
    typed = max(1, len(spots) // 2)

    def put(f: np.ndarray, j: int) -> None:
        gy, gx = spots[j]
        f[gy : gy + 8, gx : gx + 8][glyphs[j % 6]] = (20, 20, 90)

    for j in order[:typed]:
        put(page, int(j))
    out = []
    for i in range(n):
        if typed + i < len(spots):
            put(page, int(order[typed + i]))
        f = page.copy()
        cx = (5 * i) % max(1, w - 3)
        f[h - 6 : h - 2, cx : cx + 2] = (200, 30, 30)
        out.append(f)
    return out


def noise(w: int, h: int, n: int, seed: int = 2) -> list[np.ndarray]:
    """Many colours (k = 255, 256 use every entry; literals)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    out = []
    for i in range(n):
        f = np.roll(base, i, axis=1).copy()
        f[: h // 2, : w // 2] = rng.integers(0, 256, size=(h // 2, w // 2, 3), dtype=np.uint8)
        out.append(f)
    return out


# -- what the Python decoder makes of a file --------------------------------------------------


def expected(path: Path) -> dict:
    frames, audio, error, header, index = [], [], None, None, None
    try:
        with open_vq(path) as d:
            hd = d.header
            header = {
                "width": hd.width,
                "height": hd.height,
                "k": hd.k,
                "labelCoder": hd.label_coder,
                "alphaIndex": hd.alpha_index,
                "fps": [hd.fps.numerator, hd.fps.denominator],
                "timeBase": [hd.time_base.numerator, hd.time_base.denominator],
            }
            for x in d.iter_media(audio=True):
                if hasattr(x, "labels"):
                    pal = np.ascontiguousarray(x.palette, dtype=np.uint8).tobytes()
                    lab = np.ascontiguousarray(x.labels, dtype=np.uint8).tobytes()
                    row = [int(x.pts), int(x.duration), bool(x.keyframe)]
                    frames.append([*row, zlib.crc32(lab), zlib.crc32(pal)])
                else:
                    audio.append([int(x.pts), int(x.duration), zlib.crc32(bytes(x.data))])
            try:
                trailer, entries = d.read_index()
                index = {
                    "frames": trailer.frames,
                    "keyframes": trailer.keyframes,
                    "entries": [[e.frame, e.pts, e.offset] for e in entries],
                }
            except Exception as exc:  # any refusal is recorded, not raised
                index = {"error": type(exc).__name__}
    except Exception as exc:
        error = type(exc).__name__
    return {"header": header, "frames": frames, "audio": audio, "error": error, "index": index}


# -- fixtures ---------------------------------------------------------------------------------


def encoded(tmp: Path, name: str, frames: list[np.ndarray], k: int, **kw) -> bytes:
    audio = kw.pop("audio", False)
    src = write_video(tmp / f"{name}.mkv", frames, audio=audio)
    dst = tmp / f"{name}.vq"
    settings = EncodeSettings(k=k, audio="copy" if audio else "none", **kw)
    encode_file(src, dst, settings, force=True)
    return dst.read_bytes()


def crafted(
    w: int,
    h: int,
    k: int,
    maps: list[np.ndarray],
    *,
    alpha: int | None = None,
    pts_step: int = 40,
    pts0: int = 0,
) -> bytes:
    """A 4.0 file from label maps with ContainerWriter and BlockLabelEncoder; a keyframe first
    and every 5th map, palette deltas on the others."""
    rng = np.random.default_rng(w * 1000 + h + k)
    buf = io.BytesIO()
    hd = Header(w, h, Fraction(25), Fraction(1, 1000), k, alpha_index=alpha)
    writer = ContainerWriter(buf, hd)
    enc = BlockLabelEncoder(w, h, k)
    prev = None
    for i, m in enumerate(maps):
        key = i % 5 == 0
        if key:
            idx = np.arange(k, dtype=np.uint8)
            rgb = rng.integers(0, 256, size=(k, 3), dtype=np.uint8)
        else:
            n = int(rng.integers(0, min(k, 4) + 1))
            idx = np.sort(rng.choice(k, size=n, replace=False)).astype(np.uint8)
            rgb = rng.integers(0, 256, size=(n, 3), dtype=np.uint8)
        code = enc.encode(m, None if key else prev)
        pts = pts0 + i * pts_step
        writer.write_frame(
            FrameRecord(key, pts, pts_step, code.mode, idx, rgb, bytes(code.payload))
        )
        prev = m
    writer.close()
    return buf.getvalue()


def mutants(data: bytes, n: int, seed: int) -> list[bytes]:
    """Byte flips, rewrites, insertions and cuts inside one record, its CRC fixed up."""
    rng = random.Random(seed)
    recs = [r for r in walk(data) if r[1] not in (b"TAIL",)]
    out = []
    for _ in range(n):
        off, tag, start, end = rng.choice(recs)
        payload = bytearray(data[start : end - 4])
        op = rng.randrange(6)
        if not payload:
            op = 3
        if op in (0, 1):  # flip bits
            for _ in range(1 + rng.randrange(3)):
                payload[rng.randrange(len(payload))] ^= 1 << rng.randrange(8)
        elif op == 2:  # a random byte, biased to the frame header
            pos = rng.randrange(min(len(payload), 24))
            payload[pos] = rng.randrange(256)
        elif op == 3:  # insert a byte
            payload.insert(rng.randrange(len(payload) + 1), rng.randrange(256))
        elif op == 4:  # delete a byte
            del payload[rng.randrange(len(payload))]
        else:  # cut the payload short
            del payload[rng.randrange(len(payload)) :]
        if rng.random() < 0.1:
            tag = bytes(rng.choice(b"KFRMPFRMapktINDXzzzz") for _ in range(4))
        new = record(tag, bytes(payload))
        mutant = data[:off] + new + data[end:]
        if rng.random() < 0.5 and tag != b"INDX":  # keep the trailer consistent with moves
            mutant = fix_trailer(mutant)
        out.append(mutant)
    return out


def fix_trailer(data: bytes) -> bytes:
    """Rewrite TAIL's index_offset after records moved (when INDX is still found)."""
    recs = walk(data)
    indx = [r for r in recs if r[1] == b"INDX"]
    if not indx or len(data) < 36 or data[-36:-32] != b"TAIL":
        return data
    frames, keys, _, end_pts = struct.unpack_from("<IIQq", data, len(data) - 28)
    tail = record(b"TAIL", struct.pack("<IIQq", frames, keys, indx[0][0], end_pts))
    return data[:-36] + tail


def probes(tiny: bytes, audio: bytes) -> dict[str, bytes]:
    """Corners where FORMAT.md needed a clarification, as the reference reader behaves there."""
    recs = walk(tiny)
    head = tiny[recs[0][2] : recs[0][3] - 4]
    body = [(tag, tiny[s : e - 4]) for _, tag, s, e in recs[1:] if tag not in (b"INDX", b"TAIL")]
    ahdr = next(audio[o:e] for o, tag, _, e in walk(audio) if tag == b"ahdr")
    apkt = next((tag, audio[s : e - 4]) for _, tag, s, e in walk(audio) if tag == b"apkt")
    indx = next(r for r in recs if r[1] == b"INDX")
    frames, keys, index_offset, end_pts = struct.unpack_from("<IIQq", tiny, len(tiny) - 28)

    def tail(**kw: int) -> bytes:
        v = {"frames": frames, "keys": keys, "at": index_offset, "end": end_pts, **kw}
        payload = struct.pack("<IIQq", v["frames"], v["keys"], v["at"], v["end"])
        return tiny[:-36] + record(b"TAIL", payload)

    def with_meta(meta: bytes) -> bytes:
        return assemble(4, 0, head[:30] + meta, body)

    def with_ahdr(payload: bytes) -> bytes:
        return assemble(4, 0, head, body, pre=[record(b"ahdr", payload)])

    a = ahdr[8:-4]
    codec_len = struct.unpack_from("<H", a, 14)[0]
    out = {
        "probe_tail_frames.vq": tail(frames=frames + 1),
        "probe_tail_keyframes.vq": tail(keys=keys - 1),
        "probe_tail_endpts.vq": tail(end=end_pts + 5),
        "probe_tail_offset.vq": tail(at=index_offset - 1),
        "probe_gap_record.vq": tiny[: indx[3]] + record(b"zzzz", b"abc") + tiny[indx[3] :],
        "probe_ahdr_mid.vq": assemble(4, 0, head, body[:1] + [(b"ahdr", a)] + body[1:]),
        "probe_ahdr_twice.vq": assemble(4, 0, head, body, pre=[ahdr, ahdr]),
        "probe_apkt_first.vq": assemble(4, 0, head, [apkt] + body, pre=[ahdr]),
        "probe_apkt_no_ahdr.vq": assemble(4, 0, head, body[:1] + [apkt] + body[1:]),
        "probe_unknown_ancillary.vq": assemble(4, 0, head, [(b"zz z", b"x")] + body),
        "probe_meta_nan.vq": with_meta(b'{"a":NaN,"b":[-Infinity,"NaN"],"c":Infinity}'),
        "probe_meta_space.vq": with_meta(b" \n{}\t"),
        "probe_meta_bom.vq": with_meta(b"\xef\xbb\xbf{}"),
        "probe_meta_array.vq": with_meta(b"[]"),
        "probe_meta_blank.vq": with_meta(b"  "),
        "probe_meta_latin1.vq": with_meta(b'{"a":"\xe9"}'),
        "probe_layout_control.vq": with_ahdr(a[: 18 + codec_len] + b"\x01" + a[19 + codec_len :]),
        "probe_layout_8bit.vq": with_ahdr(a[: 18 + codec_len] + b"\xc3" + a[19 + codec_len :]),
        "probe_codec_dash.vq": with_ahdr(a[:18] + b"-" + a[19:]),
        "probe_critical_unknown.vq": assemble(4, 0, head, body[:2] + [(b"QQQQ", b"")] + body[2:]),
    }
    big = []
    for tag, payload in body:  # pts beyond 2^53 (vq.js refuses them, documented)
        mode, pts, dur, n, h = split_v4_frame(payload)
        big.append((tag, frame_header(4, mode, 2**60 + pts, dur, n) + payload[h:]))
    out["probe_pts_2e60.vq"] = assemble(4, 0, head, big)
    return out


def make_fixtures(out: Path, node: str) -> dict:
    """Every fixture file in ``out`` and their expectations (``expected.json``); ``node`` writes
    the random label codes (tests/js/randomcodes.mjs)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([node, str(JS_TESTS / "randomcodes.mjs"), str(out)], check=True, timeout=120)
    work = out / "src"
    work.mkdir(exist_ok=True)
    files: dict[str, bytes] = {}
    for name in ("tiny.vq", "tiny_v3.vq", "tiny_v2.vq", "tiny_v1.vq"):
        files[f"golden_{name}"] = (GOLDEN / name).read_bytes()

    files["pan_k16.vq"] = encoded(work, "pan", pan(96, 64, 16), 16)
    files["screen_k16.vq"] = encoded(work, "screen", screen(96, 72, 12), 16)
    files["k2.vq"] = encoded(work, "k2", pan(48, 32, 8, seed=3), 2)
    files["k255.vq"] = encoded(work, "k255", noise(40, 24, 4), 255)
    files["k256.vq"] = encoded(work, "k256", noise(40, 24, 4, seed=5), 256)
    files["odd_37x23.vq"] = encoded(work, "odd", pan(37, 23, 10, seed=4), 8)
    files["odd_9x70.vq"] = encoded(work, "tall", screen(9, 70, 6), 4)
    files["audio.vq"] = encoded(work, "audio", pan(64, 48, 12, seed=6), 16, audio=True)
    files["keyint.vq"] = encoded(work, "keyint", pan(32, 32, 14, seed=7), 8, keyint_s=0.25)
    if SAMPLE.exists():
        files["sample.vq"] = encoded(work, "sample", read_sample(24), 32)

    rng = np.random.default_rng(11)
    maps_1x1 = [rng.integers(0, 2, size=(1, 1), dtype=np.uint8) for _ in range(9)]
    maps_1x1[3] = maps_1x1[2]
    files["crafted_1x1_k2.vq"] = crafted(1, 1, 2, maps_1x1)
    big = [rng.integers(0, 256, size=(17, 11), dtype=np.uint8) for _ in range(7)]
    big[2] = big[1].copy()
    big[2][3:9, 2:5] = 255
    files["crafted_noise_k256.vq"] = crafted(11, 17, 256, big)
    flat = [np.full((20, 30), i % 3, np.uint8) for i in range(6)]
    files["crafted_alpha.vq"] = crafted(30, 20, 3, flat, alpha=1, pts0=2**40, pts_step=70000)

    files["pan_v3.vq"] = repack(files["pan_k16.vq"], 3)
    files["screen_v3.vq"] = repack(files["screen_k16.vq"], 3)
    files["pan_v2.vq"] = repack(files["pan_k16.vq"], 2, coder=2)
    files["screen_v2.vq"] = repack(files["screen_k16.vq"], 2, coder=2)
    files["audio_v2.vq"] = repack(files["audio.vq"], 2, coder=2)
    files["odd_v2.vq"] = repack(files["odd_37x23.vq"], 2, coder=2)

    files.update(probes(files["golden_tiny.vq"], files["audio.vq"]))

    maps_small = [rng.integers(0, 5, size=(13, 19), dtype=np.uint8) // 2 for _ in range(6)]
    small = crafted(19, 13, 5, maps_small)
    for i, m in enumerate(mutants(files["golden_tiny.vq"], 120, seed=1)):
        files[f"mut_tiny_{i:03d}.vq"] = m
    for i, m in enumerate(mutants(small, 80, seed=2)):
        files[f"mut_small_{i:03d}.vq"] = m
    for i, m in enumerate(mutants(files["golden_tiny_v2.vq"], 60, seed=3)):
        files[f"mut_v2_{i:03d}.vq"] = m
    for i, m in enumerate(mutants(files["audio.vq"], 40, seed=4)):
        files[f"mut_audio_{i:03d}.vq"] = m

    for name, data in files.items():
        (out / name).write_bytes(data)
    table = {path.name: expected(path) for path in sorted(out.glob("*.vq"))}
    shutil.rmtree(work)
    (out / "expected.json").write_text(json.dumps(table, indent=0))
    return table


def read_sample(n: int) -> list[np.ndarray]:
    """The first ``n`` frames of the sample clip, scaled to 160 px wide."""
    out = []
    with av.open(str(SAMPLE)) as c:
        for f in c.decode(video=0):
            w = 160
            h = (f.height * w // f.width) // 2 * 2
            out.append(f.reformat(width=w, height=h, format="rgb24").to_ndarray())
            if len(out) == n:
                break
    return out


def test_js_decoder(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node (Node.js 20) is not on PATH: the JavaScript decoder's tests need it"
    table = make_fixtures(tmp_path / "fixtures", node)
    assert not table["golden_tiny.vq"]["error"] and len(table["golden_tiny.vq"]["frames"]) == 6
    env = dict(os.environ, **{ENV: str(tmp_path / "fixtures")})
    proc = subprocess.run(
        [node, "--test", *sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-20000:])
        sys.stdout.write(proc.stderr[-5000:])
    assert proc.returncode == 0, "node --test tests/js/ failed (its output is above)"
