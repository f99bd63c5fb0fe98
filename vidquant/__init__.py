"""vidquant: palette video with k-means colour quantisation."""

__version__ = "0.1.0"
