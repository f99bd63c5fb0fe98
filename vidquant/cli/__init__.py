"""The command line: a thin shell over the library (see main.py for the program)."""
