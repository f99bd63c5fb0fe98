"""Video file input and output: the only package that imports PyAV."""

# OpenCV must be loaded before PyAV: PyAV bundles its own libxcb, and if it is loaded first the
# first OpenCV highgui window (vidquant play) hangs the process (PyAV#978, opencv#29195).
import cv2  # noqa: F401
