"""FaceTrack command line: ``python start.py --help``."""

import sys

if __name__ == "__main__":
    try:
        from apps.cli import main

        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers are installed (while importing)
        sys.exit(130)
