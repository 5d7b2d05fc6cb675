"""The README's settings table against app/config.py's `Settings` (no database needed):
every setting has a row under its environment variable with the default the code has,
and no row names a setting that does not exist. `make docs` prints the table to paste."""

from collections import Counter

from scripts.settings_table import README, Row, readme_rows, settings_rows


def table_problems(documented: list[Row], settings: list[Row]) -> list[str]:
    """What is missing, extra, repeated or wrong in the documented rows, one line each."""
    expected = {row.variable: row for row in settings}
    problems = [
        f"row {variable} appears {times} times"
        for variable, times in Counter(row.variable for row in documented).items()
        if times > 1
    ]
    seen: set[str] = set()
    for row in documented:
        wanted = expected.get(row.variable)
        if row.variable in seen:
            continue
        seen.add(row.variable)
        if wanted is None:
            problems.append(f"extra row {row.variable}: Settings has no such setting")
        elif row.default != wanted.default:
            problems.append(
                f"wrong default in row {row.variable}: {row.default}, Settings has {wanted.default}"
            )
        elif not row.meaning:
            problems.append(f"row {row.variable} says nothing in its meaning column")
    problems += [
        f"missing row {row.variable} (default {row.default}): {row.meaning}"
        for row in settings
        if row.variable not in seen
    ]
    return problems


def test_readme_settings_table_matches_settings() -> None:
    problems = table_problems(readme_rows(README.read_text()), settings_rows())
    assert not problems, (
        "README.md's Configuration table and app/config.py Settings differ "
        "(`make docs` prints the table from Settings):\n- " + "\n- ".join(problems)
    )


def test_the_check_names_each_missing_extra_and_wrong_row() -> None:
    settings = [Row("`A`", "`1`", "a"), Row("`B`", "`x`", "b"), Row("`C`", "`true`", "c")]
    documented = [
        Row("`A`", "`1`", "the a"),
        Row("`B`", "`y`", "the b"),
        Row("`D`", "`0`", "the d"),
        Row("`D`", "`0`", "the d"),
    ]
    assert table_problems(documented, settings) == [
        "row `D` appears 2 times",
        "wrong default in row `B`: `y`, Settings has `x`",
        "extra row `D`: Settings has no such setting",
        "missing row `C` (default `true`): c",
    ]
    assert table_problems(settings, settings) == []


def test_the_table_is_read_from_the_configuration_section() -> None:
    readme = (
        "# X\n\n## Configuration\n\ntext\n\n| variable | default | meaning |\n| --- | --- | --- |\n"
        '| `A` | `1` | the a |\n| `B` | `["*"]` | the b |\n\nmore\n\n| a | b |\n'
        "\n## Next\n\n| a | b |\n"
    )
    assert readme_rows(readme) == [Row("`A`", "`1`", "the a"), Row("`B`", '`["*"]`', "the b")]
