"""The applications built on the codec core: nothing in the core imports them."""
