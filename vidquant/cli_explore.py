"""``vidquant explore``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations
