"""Video file input and output: the only package that imports PyAV."""
