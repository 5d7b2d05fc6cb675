"""Removing articles: `ingest.py --delete URL…` and `--prune FOLDER`, on both databases.

What goes with an article is checked through the API as a client sees it: the article
itself, listings and their totals (the count table), search, facets, sources and authors,
cached answers and ETags, and the changes feed's tombstone.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import ROOT, Settings
from app.main import create_app
from tests.factories import write_article

API = "/api/v1"
WATCHED = (
    f"{API}/articles",
    f"{API}/articles?source=gone.example",
    f"{API}/articles?from=2020-01-02&to=2020-01-02",
    f"{API}/articles?q=ледоход",
    f"{API}/articles/facets",
    f"{API}/sources",
    f"{API}/authors",
    f"{API}/changes",
)


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ingest.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, cursor_secret="test-secret"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def write_three(folder: Path) -> None:
    write_article(
        folder,
        "1.txt",
        url="https://kept.example/1",
        title="Выборы мэра",
        source="Остаётся",
        authors=["Анна Первая"],
        published="2020-01-01T10:00:00+00:00",
    )
    write_article(
        folder,
        "2.txt",
        url="https://gone.example/2",
        title="Ледоход на Иртыше",
        source="Уходит",
        authors=["Борис Второй"],
        published="2020-01-02T10:00:00+00:00",
    )
    write_article(
        folder,
        "3.txt",
        url="https://kept.example/3",
        title="Погода",
        source="Остаётся",
        authors=["Анна Первая"],
        published="2020-01-03T10:00:00+00:00",
    )


def test_delete_by_url(api: TestClient, database_url: str, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    write_three(corpus)
    ingest(corpus)
    before = {url: api.get(url) for url in WATCHED}
    gone_id = next(i["id"] for i in before[f"{API}/articles"].json()["items"] if "gone" in i["url"])
    assert api.get(f"{API}/articles/{gone_id}").status_code == 200
    assert before[f"{API}/articles?q=ледоход"].json()["total"] == 1

    result = run_cli(database_url, "--delete", "https://gone.example/2", "https://nowhere.example/")

    assert result.returncode == 1  # one URL named no article
    assert result.stderr.strip() == "https://nowhere.example/: no article has this URL"
    assert result.stdout.strip() == "urls: 2, deleted: 1, not found: 1"
    for url, old in before.items():  # every cached answer is recomputed
        new = api.get(url, headers={"If-None-Match": old.headers["etag"]})
        assert new.status_code == 200, url
        assert new.headers["etag"] != old.headers["etag"], url
    assert api.get(f"{API}/articles/{gone_id}").status_code == 404
    listing = api.get(f"{API}/articles").json()
    assert listing["total"] == 2 and "gone" not in str(listing["items"])
    assert api.get(f"{API}/articles?source=gone.example").json()["total"] == 0
    assert api.get(f"{API}/articles?from=2020-01-02&to=2020-01-02").json()["total"] == 0
    assert api.get(f"{API}/articles?from=2020-01-01&to=2020-01-31").json()["total"] == 2
    assert api.get(f"{API}/articles?q=ледоход").json()["total"] == 0
    facets = api.get(f"{API}/articles/facets").json()
    assert facets["total"] == 2
    assert [s["name"] for s in facets["sources"]] == ["Остаётся"]
    assert [a["name"] for a in facets["authors"]] == ["Анна Первая"]
    sources = {s["name"]: s["article_count"] for s in api.get(f"{API}/sources").json()["items"]}
    assert sources == {"Остаётся": 2, "Уходит": 0}  # the source stays, with no article
    authors = {a["name"]: a["article_count"] for a in api.get(f"{API}/authors").json()["items"]}
    assert authors == {"Анна Первая": 2, "Борис Второй": 0}
    feed = api.get(f"{API}/changes").json()["items"]
    assert feed[-1] == {
        "id": gone_id,
        "url": "https://gone.example/2",
        "deleted": True,
        "article": None,
    }

    again = run_cli(database_url, "--json", "--delete", "https://gone.example/2")
    assert again.returncode == 1
    summary = json.loads(again.stdout)
    assert summary["deleted"] == 0 and summary["not_found"] == 1
    assert summary["rejects"] == [
        {"url": "https://gone.example/2", "reason": "no article has this URL"}
    ]
    ok = run_cli(database_url, "--delete", "https://kept.example/1")
    assert (ok.returncode, ok.stdout.strip()) == (0, "urls: 1, deleted: 1, not found: 0")


def test_prune_removes_articles_whose_files_are_gone(
    api: TestClient, database_url: str, tmp_path: Path, ingest
) -> None:  # type: ignore[no-untyped-def]
    folder, elsewhere = tmp_path / "feed", tmp_path / "other"
    for n in range(1, 6):
        write_article(folder / "sub", f"{n}.txt", url=f"https://a.example/{n}", title=f"Т{n}")
    write_article(elsewhere, "x.txt", url="https://b.example/x")
    ingest(folder, elsewhere)

    (folder / "sub" / "1.txt").unlink()  # gone
    (folder / "sub" / "2.txt").rename(folder / "2-renamed.txt")  # only moved
    write_article(folder / "sub", "3.txt", url="https://a.example/33")  # now another article
    (folder / "sub" / "4.txt").write_text("")  # broken, but there: kept
    (elsewhere / "x.txt").unlink()  # not under the folder pruned: kept

    result = run_cli(database_url, "--prune", str(folder))

    assert result.returncode == 1, result.stderr  # the broken file is rejected as usual
    assert f"{folder / 'sub' / '4.txt'}: empty file" in result.stderr
    assert "files read: 4, inserted: 1, updated: 0, unchanged: 2, rejected: 1, deleted: 2" in (
        result.stdout
    )
    assert f"removed https://a.example/1 ({folder / 'sub' / '1.txt'}: gone)" in result.stdout
    assert f"removed https://a.example/3 ({folder / 'sub' / '3.txt'}: gone)" in result.stdout
    urls = {i["url"] for i in api.get(f"{API}/articles").json()["items"]}
    assert urls == {
        "https://a.example/2",
        "https://a.example/33",
        "https://a.example/4",
        "https://a.example/5",
        "https://b.example/x",
    }
    again = run_cli(database_url, "--json", "--prune", str(folder))
    summary = json.loads(again.stdout)
    assert (summary["deleted"], summary["removed"], summary["unchanged"]) == (0, [], 3)

    bad = run_cli(database_url, "--prune", str(tmp_path / "missing"))
    assert bad.returncode == 2 and "is not a folder" in bad.stderr
    mixed = run_cli(database_url, "--prune", str(folder), str(elsewhere))
    assert mixed.returncode == 2 and "take no other paths" in mixed.stderr


def test_updated_since(api: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    write_three(corpus)
    ingest(corpus)
    first = api.get(f"{API}/articles").json()["items"]
    article = api.get(f"{API}/articles/{first[0]['id']}").json()
    since = article["updated_at"]
    assert api.get(f"{API}/articles", params={"updated_since": since}).json()["total"] == 3
    write_article(corpus, "2.txt", url="https://gone.example/2", title="Новый заголовок")
    ingest(corpus)
    changed = api.get(f"{API}/articles/{first[1]['id']}").json()["updated_at"]
    assert changed > since
    page = api.get(f"{API}/articles", params={"updated_since": changed}).json()
    assert (page["total"], [i["title"] for i in page["items"]]) == (1, ["Новый заголовок"])
    with_source = api.get(
        f"{API}/articles", params={"updated_since": changed, "source": "Остаётся"}
    ).json()
    assert with_source["total"] == 0
    # With a search and with authors (their totals are counted, not summed).
    for extra, total in (
        ({"q": "заголовок"}, 1),
        ({"q": "погода"}, 0),
        ({"author": "Екатерина Сумина"}, 1),  # the new byline
        ({"author": "Анна Первая"}, 0),
        ({"author": ["Анна Первая", "Екатерина Сумина"]}, 1),
    ):
        found = api.get(f"{API}/articles", params={"updated_since": changed, **extra}).json()
        assert found["total"] == len(found["items"]) == total, extra
    facets = api.get(f"{API}/articles/facets", params={"updated_since": changed}).json()
    assert facets["total"] == 1
    bad = api.get(f"{API}/articles", params={"updated_since": "вчера"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["name"] == "updated_since"
