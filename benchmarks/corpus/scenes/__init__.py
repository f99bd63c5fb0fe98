"""The frame generators of the corpus kinds, one module each: camera, cartoon, screen, game.

Each module has a ``*_frames(size, n_frames, fps)`` generator of RGB frames ((height, width,
3) uint8). ``make_corpus.py`` registers them as kinds and writes the clips.
"""

Size = tuple[int, int]  # (width, height) in pixels
SEED = 20240604  # each kind draws from SEED + its own number, so each is reproducible alone
