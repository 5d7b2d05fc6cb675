"""Article files for tests, written in the seeds/ format."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_BODY = ("Первый абзац статьи о событиях дня.", "Второй абзац с подробностями.")


def article_text(
    *,
    title: str = "Заголовок статьи",
    published: str | None = "2019-11-06T09:26:00+00:00",
    authors: Sequence[str] | None = ("Екатерина Сумина",),
    source: str | None = "ФедералПресс",
    url: str = "https://fedpress.ru/news/1",
    paragraphs: Sequence[str] = DEFAULT_BODY,
    photo: str | None = None,
) -> str:
    lines = ["", f"# {title}", ""]
    if published is not None:
        lines += [f"Published at: **{published}**", ""]
    if authors:
        lines += [f"Author: **{', '.join(authors)}**", ""]
    if source is not None:
        lines += [f"Original: [{source}]({url})", "", ""]
    lines += [f"        {p}" if i == 0 else p for i, p in enumerate(paragraphs)]
    if photo:
        lines += ["", f"        Фото: {photo}", "      "]
    return "\n".join(lines) + "\n"


def write_article(folder: Path, name: str, **fields: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_text(**fields), encoding="utf-8")
    return path
