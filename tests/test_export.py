"""GET /articles/export: the same articles as the JSON API, as CSV or NDJSON, streamed."""

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from app.api import export
from app.formats.rows import CSV_COLUMNS

# title, paragraphs, authors, source, published
TRICKY: list[tuple[str, list[str], list[str], str, str]] = [
    (
        'Форум «Россия — Казахстан», "кавычки" и запятые',
        ['Первый абзац, с запятой и "кавычками".', "Второй абзац; точка с запятой."],
        ["Екатерина Сумина", "Иван Петров"],
        "ФедералПресс",
        "2019-11-06T09:26:00+03:00",
    ),
    (
        "Ёлка и ель",
        ["Строка с табом\t и апострофом ', и точкой.", "«Ёлочные» новости, форум"],
        [],
        "Известия",
        "2019-11-06T09:26:00+03:00",  # the same instant: ordered by id
    ),
    (
        "Markets, rallied",
        ['Stocks rose; the "bulls" won.\u2028Line separator.', "Форум в Нью-Йорке."],
        ["John Smith"],
        "Reuters",
        "2019-11-08T08:00:00-05:00",
    ),
]


@pytest.fixture
def archive(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    from tests.factories import write_article

    for i, (title, paragraphs, authors, source, published) in enumerate(TRICKY):
        write_article(
            corpus,
            f"t{i}.txt",
            title=title,
            paragraphs=paragraphs,
            authors=authors,
            source=source,
            published=published,
            url=f"https://{source.lower()}.example/{i}",
            photo="пресс-служба, «Фото»" if i == 0 else None,
        )
    # Enough plain articles to span several chunks, with runs of equal timestamps.
    for i in range(20):
        write_article(
            corpus,
            f"p{i:02}.txt",
            title=f"Новость {i}" + (" про форум" if i % 3 == 0 else ""),
            paragraphs=[f"Текст новости {i}.", "Форум." if i % 3 == 0 else "Без слов."],
            authors=["Иван Петров"] if i % 2 else [],
            source="Один" if i % 2 else "Два",
            published=f"2019-10-{1 + i // 4:02}T12:00:00+00:00",
            url=f"https://one.example/{i}",
        )
    ingest(corpus, batch_size=7)
    return client


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few rows, so that a small archive crosses many chunk boundaries."""
    monkeypatch.setattr(export, "FIRST_CHUNK", 2)
    monkeypatch.setattr(export, "CHUNK", 3)
    monkeypatch.setattr(export, "PIECE", 2)


def api_articles(client: TestClient, query: dict[str, str]) -> list[dict[str, Any]]:
    """What the JSON API says for the query: the listing's order, each article in full."""
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {**query, "limit": "7"}
    while True:
        page = client.get("/api/v1/articles", params=params).json()
        items += page["items"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    return [client.get(f"/api/v1/articles/{item['id']}").json() for item in items]


def ndjson(client: TestClient, query: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/v1/articles/export", params={**query, "format": "ndjson"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    text = response.content.decode("utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def csv_rows(client: TestClient, query: dict[str, str]) -> list[dict[str, str]]:
    response = client.get("/api/v1/articles/export", params={**query, "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert not response.content.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


QUERIES = [
    {},
    {"sort": "published_at"},
    {"source": "Один"},
    {"author": "иван петров", "to": "2019-10-03"},
    {"language": "en"},
    {"from": "2019-11-06"},
    {"q": "форум"},  # by relevance
    {"q": "форум", "sort": "-published_at"},
    {"q": "форум -Омск", "source": "Два"},
    {"author": "Никто"},
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_ndjson_lines_are_the_articles_of_the_api(
    archive: TestClient, query: dict[str, str]
) -> None:
    expected = api_articles(archive, query)
    lines = ndjson(archive, query)
    assert [line["id"] for line in lines] == [article["id"] for article in expected]
    for line, article in zip(lines, expected, strict=True):
        article.pop("paragraphs")
        assert line == article


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_csv_rows_are_the_articles_of_the_api(archive: TestClient, query: dict[str, str]) -> None:
    expected = api_articles(archive, query)
    rows = csv_rows(archive, query)
    assert [int(row["id"]) for row in rows] == [article["id"] for article in expected]
    for row, article in zip(rows, expected, strict=True):
        assert row["title"] == article["title"]
        assert row["body"] == article["body"]
        assert row["body"].split("\n\n") == article["paragraphs"]
        assert row["excerpt"] == article["excerpt"]
        assert row["url"] == article["url"]
        assert row["published_at"] == article["published_at"]
        assert row["language"] == article["language"]
        assert int(row["word_count"]) == article["word_count"]
        assert row["source_name"] == article["source"]["name"]
        assert row["source_domain"] == article["source"]["domain"]
        assert int(row["source_id"]) == article["source"]["id"]
        names = [author["name"] for author in article["authors"]]
        assert row["authors"] == ", ".join(names)
        assert row["author_ids"] == ", ".join(str(a["id"]) for a in article["authors"])
        assert row["photo_credit"] == (article["photo_credit"] or "")
        assert row["ingested_at"] == article["ingested_at"]
        assert row["updated_at"] == article["updated_at"]


def test_tricky_text_survives_both_formats(archive: TestClient) -> None:
    rows = {row["title"]: row for row in csv_rows(archive, {"to": "2019-11-30"})}
    lines = {line["title"]: line for line in ndjson(archive, {"to": "2019-11-30"})}
    for title, paragraphs, authors, _source, _published in TRICKY:
        assert rows[title]["body"] == lines[title]["body"] == "\n\n".join(paragraphs)
        assert rows[title]["authors"] == ", ".join(authors)
        assert [a["name"] for a in lines[title]["authors"]] == authors
    assert rows[TRICKY[0][0]]["photo_credit"] == "пресс-служба, «Фото»"


def test_csv_quoting_is_rfc_4180(archive: TestClient) -> None:
    raw = archive.get("/api/v1/articles/export?language=en").content.decode()
    header, rest = raw.split("\r\n", 1)
    assert header == ",".join(CSV_COLUMNS)
    assert '"Markets, rallied"' in rest
    assert 'Stocks rose; the ""bulls"" won.' in rest
    assert rest.endswith("\r\n")


def test_the_bom_option(archive: TestClient) -> None:
    plain = archive.get("/api/v1/articles/export?format=csv").content
    marked = archive.get("/api/v1/articles/export?format=csv&bom=true")
    assert marked.status_code == 200
    assert marked.content == b"\xef\xbb\xbf" + plain
    opened = io.StringIO(marked.content.decode("utf-8-sig"), newline="")
    assert next(csv.reader(opened)) == list(CSV_COLUMNS)


def test_headers(archive: TestClient) -> None:
    for name in ("csv", "ndjson"):
        response = archive.get(f"/api/v1/articles/export?format={name}")
        disposition = response.headers["content-disposition"]
        assert re.fullmatch(rf'attachment; filename="articles-\d{{8}}\.{name}"', disposition)
        assert "etag" not in response.headers  # never through the response cache
    # csv is the default format
    assert archive.get("/api/v1/articles/export").headers["content-type"].startswith("text/csv")


def test_an_empty_export(archive: TestClient) -> None:
    assert ndjson(archive, {"from": "2030-01-01"}) == []
    assert csv_rows(archive, {"from": "2030-01-01"}) == []


def test_exports_are_never_stale(archive: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import write_article

    before = ndjson(archive, {})
    write_article(
        corpus, "new.txt", title="Свежая", url="https://new.example/1", published="2030-01-01"
    )
    ingest(corpus)
    after = ndjson(archive, {})
    assert [line["title"] for line in after] == ["Свежая"] + [line["title"] for line in before]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("format=xml", "format"),
        ("format=ndjson&bom=true", "bom"),
        ("bom=maybe", "bom"),
        ("from=yesterday", "from"),
        ("from=2019-11-02&to=2019-11-01", "to"),
        ("sort=relevance", "sort"),
        ("sort=title", "sort"),
        ("q=-форум", "q"),
        ("language=" + "x" * 501, "language"),
        ("source_id=0", "source_id"),
        ("author=%00", "author"),
    ],
)
def test_bad_parameters_are_a_400_before_streaming(
    archive: TestClient, query: str, name: str
) -> None:
    response = archive.get(f"/api/v1/articles/export?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "content-disposition" not in response.headers
    assert name in [error["name"] for error in response.json()["errors"]]


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_the_export_leaves_chunk_by_chunk_gzipped_or_not(
    archive: TestClient, encoding: str
) -> None:
    """Through every middleware (gzip among them) the export goes out as it is read, one
    body message per piece, never buffered whole; gzipped, each piece is flushed."""
    app: Any = archive.app
    bodies: list[Message] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            if message["type"] == "http.response.body":
                bodies.append(message)
            await send(message)

        await app(scope, receive, record)

    # Not entered: the archive's client already runs the app's lifespan.
    client = TestClient(recording)
    url = "/api/v1/articles/export?format=ndjson"
    sent = client.get(url, headers={"Accept-Encoding": encoding})
    assert sent.headers.get("content-encoding") == (encoding if encoding == "gzip" else None)
    assert sent.content == archive.get(url, headers={"Accept-Encoding": "identity"}).content
    rows = sent.content.count(b"\n")
    assert rows > 20
    more = [message for message in bodies if message.get("more_body")]
    assert len(more) >= rows // 3  # CHUNK is 3 here: at least one message per chunk
    assert all(message["body"] for message in more)


def test_a_reader_that_stops_holds_no_connection(archive: TestClient) -> None:
    # Each chunk's session is closed before its rows are sent: while the client reads (or
    # after it went away) no connection is checked out of the pool.
    app: Any = archive.app
    engine = app.state.engine
    sessions = app.state.sessionmaker
    from app.formats.rows import ndjson_rows
    from app.pagination import Pager, sort_order
    from app.queries.articles import article_records
    from app.queries.listing import ArticleFilters

    newest = sort_order("articles", "-published_at")
    with sessions() as session:
        first = article_records(session, ArticleFilters(), Pager(newest, 2))
    body = export._stream(app.state.reads, ArticleFilters(), newest, first, "", ndjson_rows)
    for _ in range(5):  # past the first chunk, into the third
        next(body)
        assert engine.pool.checkedout() == 0
    body.close()
    assert engine.pool.checkedout() == 0


def test_the_route_is_not_taken_for_an_article_id(archive: TestClient) -> None:
    schema = archive.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/articles/export"]["get"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"text/csv; charset=utf-8", "application/x-ndjson"}  # as sent
    assert {"400", "503", "504"} <= set(operation["responses"])
    params = {param["name"] for param in operation["parameters"]}
    assert {"format", "bom", "sort", "q", "from", "to", "author", "source", "language"} <= params
    assert not {"limit", "cursor", "page"} & params
