"""``python -m vidquant``: the command line."""

from .cli import main

main()
