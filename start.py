#!/usr/bin/env python3
"""FaceTrack command line: ``python start.py --help``."""

import sys

from apps.cli import main

if __name__ == "__main__":
    sys.exit(main())
