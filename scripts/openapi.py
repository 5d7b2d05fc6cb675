#!/usr/bin/env python
"""Print the API's OpenAPI document, exactly as the app serves it at /openapi.json
(`make client` writes it to clients/typescript/openapi.json and regenerates the types)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.main import create_app


def document() -> str:
    """The document as committed: indented, keys in the app's order, a final newline."""
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
