"""The ``.vq`` container and its label coder (numpy and zstandard only)."""
