#!/usr/bin/env python
"""The README's settings table and app/config.py's `Settings`: the one home of how a
setting is written there (its environment variable and its default) and of reading the
table back, so tests/test_docs.py can hold the two together.

    .venv/bin/python scripts/settings_table.py      # or: make docs

prints the table from `Settings`, to paste over the README's: one row per setting in the
order of app/config.py, keeping the README's own wording of a row that is already there
and taking a new setting's from its `Field(description=…)`.
"""

import json
import sys
from dataclasses import dataclass
from itertools import dropwhile, takewhile

from pydantic.fields import FieldInfo

from app.config import ROOT, Settings

README = ROOT / "README.md"
SECTION = "## Configuration"
HEADER = ["variable", "default", "meaning"]


@dataclass(frozen=True)
class Row:
    variable: str  # the environment variable, as written in the table: `DATABASE_URL`
    default: str  # as written in the table: `5`
    meaning: str


def code(text: str) -> str:
    return f"`{text}`"


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable pydantic-settings reads the field from."""
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    prefix = str(Settings.model_config.get("env_prefix") or "")
    return (alias or prefix + name).upper()


def shown_default(field: FieldInfo) -> str:
    """The default as one would write it in the environment: JSON for lists and dicts,
    true/false, (empty) for an empty string, and the checkout's own path as <repo>."""
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if value == "":
        return "(empty)"
    return str(value).replace(str(ROOT), "<repo>")


def settings_rows() -> list[Row]:
    """A row per field of Settings, in its order; the meaning is the field's description."""
    return [
        Row(code(env_name(name, field)), code(shown_default(field)), field.description or "")
        for name, field in Settings.model_fields.items()
    ]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def readme_rows(text: str) -> list[Row]:
    """The rows of the first table under the README's Configuration heading.

    Raises ValueError when there is no such section or table, or a row has not three cells.
    """
    _, found, section = text.partition(f"\n{SECTION}\n")
    if not found:
        raise ValueError(f"README.md has no {SECTION!r} section")
    section = section.split("\n## ", 1)[0]
    # The first table: its lines from the first that starts with "|" to the next that does
    # not (the section may hold other tables after it).
    lines = list(
        takewhile(
            lambda line: line.startswith("|"),
            dropwhile(lambda line: not line.startswith("|"), section.splitlines()),
        )
    )
    if not lines or cells(lines[0]) != HEADER:
        raise ValueError(f"no table with the header {HEADER} under {SECTION!r}")
    rows = []
    for line in lines[2:]:  # after the header and its |---| line
        row = cells(line)
        if len(row) != 3:
            raise ValueError(f"a settings row without 3 cells: {line}")
        rows.append(Row(*row))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| --- | --- | --- |"]
    lines += [f"| {row.variable} | {row.default} | {row.meaning} |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    wording = {row.variable: row.meaning for row in readme_rows(README.read_text())}
    rows = [
        Row(row.variable, row.default, wording.get(row.variable, row.meaning))
        for row in settings_rows()
    ]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
