"""scripts/generate_corpus.py: deterministic output, and a corpus the ingest and API digest."""

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_corpus", ROOT / "scripts" / "generate_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


gen = _load_script()


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*.txt"))
    }


def all_items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 100, **params} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/articles", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = gen.generate(300, tmp_path / "a", seed=7, malformed_rate=0.02, duplicate_rate=0.02)
    again = gen.generate(300, tmp_path / "b", seed=7, malformed_rate=0.02, duplicate_rate=0.02)
    other = gen.generate(300, tmp_path / "c", seed=8, malformed_rate=0.02, duplicate_rate=0.02)

    a, b, c = files_of(tmp_path / "a"), files_of(tmp_path / "b"), files_of(tmp_path / "c")
    assert len(a) == first.files == 300
    assert a == b
    assert set(a) == set(c)  # the same names…
    assert sum(a[name] != c[name] for name in a) > 250  # …other contents
    assert (first.malformed, first.duplicates) == (again.malformed, again.duplicates) == (6, 6)
    assert other.files == 300


def test_layout_folders_of_at_most_1000_files(tmp_path: Path) -> None:
    summary = gen.generate(1001, tmp_path, malformed_rate=0, duplicate_rate=0)
    assert summary.articles == summary.files == 1001
    assert len(list((tmp_path / "000").iterdir())) == 1000
    assert [p.name for p in (tmp_path / "001").iterdir()] == ["001000.txt"]


def test_generated_corpus_ingests_and_serves(ingest, client: TestClient, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    summary = gen.generate(400, corpus, seed=3, malformed_rate=0.02, duplicate_rate=0.03)
    assert summary.malformed == 8
    assert all(summary.malformed_by_kind[kind] >= 1 for kind in gen.MALFORMED_KINDS)
    assert summary.duplicates == 12
    assert 0 < summary.changed_duplicates < summary.duplicates
    assert summary.articles == 400 - 8 - 12

    report = ingest(corpus)

    assert report.read == 400
    assert len(report.rejected) == summary.malformed
    assert all(reason for _, reason in report.rejected)
    reasons = " ".join(reason.lower() for _, reason in report.rejected)
    for word in ("empty", "binary", "utf-8", "title", "published at", "date", "original"):
        assert word in reasons, word
    assert report.inserted == summary.articles
    assert report.updated == summary.changed_duplicates
    assert report.unchanged == summary.duplicates - summary.changed_duplicates
    assert report.inserted + report.updated + report.unchanged == 400 - summary.malformed

    items = all_items(client)
    assert client.get("/api/v1/articles").json()["total"] == summary.articles == len(items)
    bylines = Counter(min(len(item["authors"]), 2) for item in items)
    assert bylines[0] > 0 and bylines[1] > 0 and bylines[2] > 0
    assert 0.3 < bylines[0] / len(items) < 0.6  # about 45% without an Author line
    assert client.get("/api/v1/sources").json()["total"] > 20
    offsets = {item["published_at"][-6:] for item in items}
    assert len(offsets) >= 4
    assert {item["published_at"][:4] for item in items} <= {str(y) for y in range(2015, 2025)}


def test_common_topic_words_are_searchable(ingest, client: TestClient, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    gen.generate(300, corpus, seed=5, malformed_rate=0, duplicate_rate=0)
    ingest(corpus)

    total = client.get("/api/v1/articles").json()["total"]
    forum = client.get("/api/v1/articles", params={"q": "форум"}).json()["total"]
    kazakhstan = client.get("/api/v1/articles", params={"q": "Казахстан"}).json()["total"]
    city = client.get("/api/v1/articles", params={"q": "город"}).json()["total"]
    assert 0 < forum < total / 5
    assert 0 < kazakhstan < total / 5
    assert city > total / 2  # a common word, in most articles


@pytest.mark.parametrize(
    "surname, feminine",
    [
        ("Иванов", "Иванова"),
        ("Ильин", "Ильина"),
        ("Островский", "Островская"),
        ("Толстой", "Толстая"),
        ("Шевченко", "Шевченко"),
        ("Черных", "Черных"),
        ("Цой", "Цой"),
    ],
)
def test_feminine_surnames(surname: str, feminine: str) -> None:
    assert gen.feminine_surname(surname) == feminine
