"""``python -m vidquant``: the command line."""

from vidquant.cli.main import main

main()
