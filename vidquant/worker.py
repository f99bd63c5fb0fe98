"""``python -m vidquant.worker STOP_FILE``: a segment worker of a parallel encode (see
:mod:`vidquant.parallel`); it is started by the encoder, not by users."""

import sys
from pathlib import Path

from vidquant.parallel import worker_main

if __name__ == "__main__":
    worker_main(Path(sys.argv[1]))
