"""Assets of the recorded screen clips (``record_screens.py``): the documentation page that the
browser clip scrolls, made from the docstrings of Python's standard library (``docpage.py``)."""
