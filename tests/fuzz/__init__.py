"""Fuzz targets and harnesses for the ``.vq`` reader and the label decoder (see README.md)."""
