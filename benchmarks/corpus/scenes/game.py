"""The game kind: 4x pixel art, a tile map scrolled in whole pixels, a 24-colour palette."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import SEED, Size

# PICO-8's 16 colours plus 8 more: 24 in all.
_PALETTE_HEX = (
    "000000 1d2b53 7e2553 008751 ab5236 5f574f c2c3c7 fff1e8 ff004d ffa300 ffec27 00e436 "
    "29adff 83769c ff77a8 ffccaa 291814 111d35 422136 125359 742f29 49333b a28879 be1250"
)
GAME_PALETTE = np.frombuffer(bytes.fromhex(_PALETTE_HEX), np.uint8).reshape(-1, 3)
SKY, CLOUD, GRASS, DIRT, DARK, BRICK, WATER, FOAM = 12, 7, 11, 4, 16, 20, 1, 6
TILE = 16  # tile size in low-resolution pixels
PIXEL = 4  # each low-resolution pixel becomes PIXEL x PIXEL


def _tiles(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """16x16 palette-index tiles, drawn procedurally."""
    t = {}
    grass = np.full((TILE, TILE), DIRT, np.uint8)
    grass[:4] = GRASS
    grass[4, rng.random(TILE) < 0.5] = GRASS
    grass[6:][rng.random((TILE - 6, TILE)) < 0.12] = 20  # pebbles
    t["grass"] = grass
    dirt = np.full((TILE, TILE), DIRT, np.uint8)
    dirt[rng.random((TILE, TILE)) < 0.12] = 20
    t["dirt"] = dirt
    brick = np.full((TILE, TILE), BRICK, np.uint8)
    brick[[0, 8], :] = DARK
    brick[:8, [0, 8]] = DARK
    brick[8:, [4, 12]] = DARK
    brick[1, :] = 14
    t["brick"] = brick
    q = np.full((TILE, TILE), 9, np.uint8)  # "?" block
    q[0, :], q[-1, :], q[:, 0], q[:, -1] = DARK, DARK, DARK, DARK
    q[4:6, 5:11], q[6:8, 9:11], q[8:10, 7:9], q[12:14, 7:9] = 10, 10, 10, 10
    t["block"] = q
    for phase in range(4):  # water frames: a wave moving right
        wat = np.full((TILE, TILE), WATER, np.uint8)
        xs = (np.arange(TILE) + phase * 4) % TILE
        wat[0, xs < 6] = FOAM
        wat[1, (xs > 2) & (xs < 10)] = 12
        wat[6 + phase % 2, (xs + 5) % TILE < 3] = 12
        t[f"water{phase}"] = wat
    return t


def _sprite(rows: list[str], colours: dict[str, int]) -> np.ndarray:
    """A sprite from ASCII art; '.' is transparent (255)."""
    return np.array([[colours.get(c, 255) for c in row] for row in rows], np.uint8)


HERO = [
    "....RRRRR.......",
    "...RRRRRRRRR....",
    "...BBBSSKS......",
    "..BSBSSSKSSS....",
    "..BSBBSSSKSSS...",
    "..BBSSSSKKKK....",
    "....SSSSSSS.....",
    "...RRURRR.......",
    "..RRRURRURRR....",
    ".RRRRUUUURRRR...",
    ".SSRUYUUYURSS...",
    ".SSSUUUUUUSSS...",
    ".SSUUUUUUUUSS...",
    "...UUU..UUU.....",
    "..BBB....BBB....",
    ".BBBB....BBBB...",
]
ENEMY = [
    "......BBBB......",
    "....BBBBBBBB....",
    "...BBBBBBBBBB...",
    "..BWWBBBBBBWWB..",
    ".BBBKWBBBBWKBBB.",
    ".BBBKWWBBWWKBBB.",
    "BBBBKWWBBWWKBBBB",
    "BBBBBBBBBBBBBBBB",
    "BBBBBBBBBBBBBBBB",
    ".BBBBSSSSSSBBBB.",
    "....SSSSSSSS....",
    "....SSSSSSSS....",
    "..KKSSSSSSSSKK..",
    ".KKKKKSSSSKKKKK.",
    ".KKKKKK..KKKKKK.",
    "..KKKK....KKKK..",
]
HERO_COLOURS = {"R": 8, "B": 16, "S": 15, "K": 0, "U": 1, "Y": 10}
ENEMY_COLOURS = {"B": 4, "W": 7, "K": 0, "S": 15}


def _blit(canvas: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
    """Draw an index sprite (255 = transparent) at integer (x, y), clipped to the canvas."""
    h, w = sprite.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    part = sprite[y0 - y : y1 - y, x0 - x : x1 - x]
    view = canvas[y0:y1, x0:x1]
    view[part != 255] = part[part != 255]


DIGITS = {  # 3x5 bitmap font
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
}


def _hud(canvas: np.ndarray, text: str, x: int, y: int, colour: int) -> None:
    for n, ch in enumerate(text):
        glyph = np.array([int(b) for b in DIGITS[ch]], bool).reshape(5, 3)
        canvas[y : y + 5, x + 4 * n : x + 4 * n + 3][glyph] = colour


def game_frames(size: Size, n_frames: int, fps: int) -> Iterator[np.ndarray]:
    """A side-scroller: tile map scrolled in whole low-resolution pixels, 24 colours."""
    w, h = size
    if w % (2 * PIXEL) or h % (2 * PIXEL):
        raise ValueError(f"the game clip needs a size divisible by {2 * PIXEL}, got {w}x{h}")
    lw, lh = w // PIXEL, h // PIXEL
    rng = np.random.default_rng(SEED + 3)
    tiles = _tiles(rng)
    rows = lh // TILE + 1
    cols = (lw + n_frames) // TILE + 3
    ground_row = rows - 2
    heights = np.clip(np.cumsum(rng.integers(-1, 2, cols)) // 3, -1, 1)
    world = np.full((rows, cols), -1, np.int16)  # -1: sky; else an index into `names`
    names = ["grass", "dirt", "brick", "block", "water"]
    surface = ground_row - heights  # row of each column's top tile
    for c in range(cols):
        if c % 23 in (9, 10):  # a pool
            world[ground_row + 1 :, c] = 4
            surface[c] = ground_row + 1
            continue
        top = surface[c]
        world[top, c], world[top + 1 :, c] = 0, 1
        if c % 11 == 5 and c + 1 < cols:
            world[top - 3, c - 1 : c + 2] = [2, 3, 2]
    mountains = (
        lh * 0.55
        + 10 * np.sin(np.arange(2 * lw + n_frames) / 9.0)
        + 6 * np.sin(np.arange(2 * lw + n_frames) / 3.7)
    ).astype(int)
    shift = rows * TILE - lh  # the map's top rows are cut off

    def stand(world_x: int) -> int:  # screen y of a sprite standing on the ground there
        return int(surface[((world_x + TILE // 2) // TILE) % cols]) * TILE - shift - TILE

    hero = _sprite(HERO, HERO_COLOURS)
    hero_step = np.roll(hero, 1, axis=1)
    hero_step[13:] = _sprite(HERO[13:][::-1], HERO_COLOURS)
    enemy = _sprite(ENEMY, ENEMY_COLOURS)
    clouds = rng.uniform([0, 4], [2 * lw, lh * 0.3], (5, 2)).astype(int)
    yy = np.arange(lh)[:, None]
    for i in range(n_frames):
        cam = i  # one low-resolution pixel per frame
        canvas = np.full((lh, lw), SKY, np.uint8)
        xs = (np.arange(lw) + cam // 2) % len(mountains)  # parallax: half speed
        canvas[yy >= mountains[xs][None, :]] = 13
        for cx, cy in clouds:
            x = (cx - cam // 3) % (2 * lw) - 24
            canvas[cy : cy + 6, max(x, 0) : max(x + 24, 0)] = CLOUD
            canvas[cy - 3 : cy, max(x + 6, 0) : max(x + 16, 0)] = CLOUD
        c0 = cam // TILE
        for r in range(rows):
            for c in range(c0, c0 + lw // TILE + 2):
                v = world[r, c]
                if v < 0:
                    continue
                tile = tiles[f"water{(i // 8) % 4}"] if v == 4 else tiles[names[v]]
                _blit(canvas, tile, c * TILE - cam, r * TILE - shift)
        ground_y = (ground_row - 1) * TILE - shift

        for n in range(3):  # enemies walk left, in world coordinates
            ex = (lw + n * 130 - i // 2 - cam) % 390 - 16
            _blit(canvas, enemy if (i // 6) % 2 else enemy[:, ::-1], ex, stand(ex + cam))
        for n in range(6):  # spinning coins: width cycles 6, 4, 2, 4
            cx = (40 + n * 57 - cam) % (57 * 6) - 16
            width = (6, 4, 2, 4)[(i // 5 + n) % 4]
            top = ground_y - 24
            canvas[top : top + 8, max(cx + (6 - width) // 2, 0) : max(cx + (6 + width) // 2, 0)] = (
                10
            )
        jump = (i % 45) / 45
        floor = stand(lw // 3 + cam)
        hy = floor - int(48 * jump * (1 - jump) * 4) if (i // 45) % 2 else floor
        _blit(canvas, hero_step if (i // 4) % 2 and hy == floor else hero, lw // 3, hy)
        canvas[1:8, 1:60] = 0
        _hud(canvas, f"{i * 10 + 1000:06d}", 2, 2, 7)
        _hud(canvas, f"{(i // fps) % 1000:03d}", 40, 2, 10)
        rgb = GAME_PALETTE[canvas]
        yield np.ascontiguousarray(rgb.repeat(PIXEL, axis=0).repeat(PIXEL, axis=1))
