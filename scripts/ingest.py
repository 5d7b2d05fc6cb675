#!/usr/bin/env python
"""Load article files into the archive database. See app/ingest/cli.py and the README."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.ingest.cli import main

if __name__ == "__main__":
    sys.exit(main())
