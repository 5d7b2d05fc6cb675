"""Categories and stories through HTTP on both databases: the ingest's assignment (stable,
repaired when an article changes, kept exact by removals), /stories, /stories/{id},
the category and story_id filters and fields, /articles/{id}/similar.

The articles are hand-written: two reports of one made-up event (a forum in Omsk) from
two sources, a third report of it the next day, a hockey match under a sports URL, and
a central bank decision under an economy URL.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import get_settings
from app.db import make_engine
from app.ingest import cli
from app.ingest.loader import ingest_paths
from app.ingest.remove import delete_urls, prune
from app.migrate import upgrade_to_head
from tests.factories import write_article

STORIES = "/api/v1/stories"
ARTICLES = "/api/v1/articles"

FORUM_1 = "https://fedpress.ru/news/100"
FORUM_2 = "https://omskinform.ru/news/200"
FORUM_3 = "https://om1.ru/news/300"
HOCKEY = "https://sport.example.ru/sport/hockey/400"
RATE = "https://finance.example.ru/economy/500"

FORUM = (
    "В Омске открылся XVI межрегиональный форум сотрудничества России и Казахстана. "
    "Губернатор Омской области Александр Бурков и аким Павлодарской области Абылкаир "
    "Скаков открыли выставку омских и павлодарских предприятий.",
    "На форуме в Омске подпишут соглашения о сотрудничестве Омской и Павлодарской "
    "областей. В работе форума участвуют делегации приграничных регионов Казахстана.",
)
FORUM_AGAIN = (
    "Межрегиональный форум России и Казахстана начал работу в Омске: Бурков и Скаков "
    "осмотрели выставку предприятий Омской и Павлодарской областей.",
    "Делегации приграничных регионов Казахстана приехали на форум в Омск, где будут "
    "подписаны соглашения о сотрудничестве.",
)
HOCKEY_TEXT = (
    "Сборная России по хоккею обыграла команду Финляндии со счётом 4:2 в матче Кубка "
    "Карьяла. Две шайбы забросил нападающий Кирилл Капризов.",
    "Вратарь Илья Сорокин отразил 30 бросков. Следующий матч россияне сыграют со "
    "сборной Швеции в Хельсинки.",
)
HOCKEY_AGAIN = (
    "Хоккеисты сборной России победили Финляндию 4:2 на Кубке Карьяла: Капризов "
    "забросил две шайбы, Сорокин отразил 30 бросков.",
    "В следующем матче в Хельсинки сборная России сыграет со Швецией.",
)
RATE_TEXT = (
    "Банк России снизил ключевую ставку на 50 базисных пунктов, до 6,5% годовых. "
    "Регулятор объяснил решение замедлением инфляции.",
    "Следующее заседание совета директоров ЦБ по ставке пройдёт в декабре.",
)


def write_events(folder: Path) -> None:
    write_article(
        folder,
        "forum1.txt",
        url=FORUM_1,
        source="ФедералПресс",
        title="В Омске стартовал российско-казахстанский форум",
        published="2019-11-06T09:00:00+03:00",
        paragraphs=FORUM,
    )
    write_article(
        folder,
        "forum2.txt",
        url=FORUM_2,
        source="Омскинформ",
        title="Бурков и Скаков открыли в Омске форум России и Казахстана",
        published="2019-11-06T11:30:00+03:00",
        paragraphs=FORUM_AGAIN,
    )
    write_article(
        folder,
        "hockey.txt",
        url=HOCKEY,
        source="Спорт",
        title="Россия обыграла Финляндию на Кубке Карьяла",
        published="2019-11-06T22:00:00+03:00",
        paragraphs=HOCKEY_TEXT,
    )
    write_article(
        folder,
        "rate.txt",
        url=RATE,
        source="Финансы",
        title="Банк России снизил ключевую ставку до 6,5%",
        published="2019-11-06T13:30:00+03:00",
        paragraphs=RATE_TEXT,
    )


def write_third_forum_report(folder: Path) -> None:
    write_article(
        folder,
        "forum3.txt",
        url=FORUM_3,
        source="Омск 1",
        title="Форум России и Казахстана в Омске: Бурков и Скаков подписали соглашения",
        published="2019-11-07T10:00:00+03:00",
        paragraphs=FORUM,
    )


def articles_by_url(client: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    response = client.get(ARTICLES, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return {item["url"]: item for item in response.json()["items"]}


def story_of(client: TestClient, url: str) -> int:
    story: int = articles_by_url(client)[url]["story_id"]
    assert story is not None
    return story


def get_story(client: TestClient, story_id: int) -> dict[str, Any]:
    response = client.get(f"{STORIES}/{story_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture
def events(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    write_events(corpus)
    report = ingest(corpus)
    assert report.inserted == 4
    assert report.stories.assigned == 4
    return client


def test_categories_and_stories(events: TestClient) -> None:
    articles = articles_by_url(events)
    assert articles[HOCKEY]["category"] == "sports"
    assert articles[RATE]["category"] == "economy"
    assert articles[FORUM_1]["story_id"] == articles[FORUM_2]["story_id"]
    others = {articles[HOCKEY]["story_id"], articles[RATE]["story_id"]}
    assert articles[FORUM_1]["story_id"] not in others and len(others) == 2
    # A story's id is the id of the article that started it.
    assert articles[FORUM_1]["story_id"] == articles[FORUM_1]["id"]

    forum = get_story(events, articles[FORUM_1]["story_id"])
    assert forum["title"] == "В Омске стартовал российско-казахстанский форум"
    assert (forum["article_count"], forum["source_count"]) == (2, 2)
    assert forum["first_published_at"] == "2019-11-06T06:00:00+00:00"
    assert forum["last_published_at"] == "2019-11-06T08:30:00+00:00"
    assert [a["url"] for a in forum["articles"]] == [FORUM_2, FORUM_1]  # newest first
    assert [a["url"] for a in forum["top_articles"]] == [FORUM_1, FORUM_2]  # first report first
    assert forum["top_articles"][0]["source"]["domain"] == "fedpress.ru"

    listed = events.get(STORIES).json()
    assert listed["total"] == 3
    assert listed["items"][0]["id"] == forum["id"]  # two sources outweigh a later lone article
    assert {item["article_count"] for item in listed["items"]} == {2, 1}


def test_story_filters(events: TestClient) -> None:
    articles = articles_by_url(events)
    forum_id = articles[FORUM_1]["story_id"]

    def ids(**params: Any) -> list[int]:
        response = events.get(STORIES, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(category="sports") == [articles[HOCKEY]["story_id"]]
    assert set(ids(category=["sports", "economy"])) == {
        articles[HOCKEY]["story_id"],
        articles[RATE]["story_id"],
    }
    assert ids(source="omskinform.ru") == [forum_id]
    assert ids(q="Казахстан") == [forum_id]
    assert ids(language="en") == []
    assert ids(**{"from": "2019-11-07"}) == []
    assert len(ids(**{"from": "2019-11-06", "to": "2019-11-06"})) == 3
    assert ids(to="2019-11-05") == []
    by_date = ids(sort="-last_published_at")
    assert by_date[0] == articles[HOCKEY]["story_id"]  # 19:00 UTC, the latest

    response = events.get(STORIES, params={"category": ["sports", "gossip"]})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["name"] for e in response.json()["errors"]] == ["category"]
    assert "'gossip'" in response.json()["errors"][0]["reason"]
    assert events.get(STORIES, params={"sort": "size"}).status_code == 400
    assert events.get(f"{STORIES}/999999").status_code == 404
    assert events.get(f"{STORIES}/999999").json()["type"] == "/problems/not-found"
    assert events.get(f"{STORIES}/x").status_code == 400


def test_article_category_and_story_filters(events: TestClient) -> None:
    articles = articles_by_url(events)
    assert list(articles_by_url(events, category="sports")) == [HOCKEY]
    assert set(articles_by_url(events, category=["sports", "economy"])) == {HOCKEY, RATE}
    forum_id = articles[FORUM_1]["story_id"]
    listed = events.get(ARTICLES, params={"story_id": forum_id}).json()
    assert [i["url"] for i in listed["items"]] == [FORUM_2, FORUM_1]
    assert listed["total"] == 2
    assert events.get(ARTICLES, params={"category": "sports", "q": "хоккей"}).json()["total"] == 1

    bad = events.get(ARTICLES, params={"category": "gossip"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["name"] == "category"
    assert "'gossip'" in bad.json()["detail"]
    for url in ("/api/v1/articles/facets", "/api/v1/articles/export", "/api/v1/articles/feed.atom"):
        assert events.get(url, params={"category": "gossip"}).status_code == 400, url

    facets = events.get("/api/v1/articles/facets").json()
    counts = {c["value"]: c["count"] for c in facets["categories"]}
    assert counts["sports"] == 1 and counts["economy"] >= 1 and sum(counts.values()) == 4
    sports = events.get("/api/v1/articles/facets", params={"category": "sports"}).json()
    assert sports["total"] == 1

    export = events.get(
        "/api/v1/articles/export", params={"format": "ndjson", "category": "sports"}
    )
    assert export.status_code == 200
    assert [line for line in export.text.splitlines() if line].__len__() == 1
    assert '"category":"sports"' in export.text
    feed = events.get("/api/v1/articles/feed.atom", params={"category": "economy"})
    assert feed.status_code == 200 and RATE in feed.text and HOCKEY not in feed.text

    one = events.get(f"{ARTICLES}/{articles[HOCKEY]['id']}", params={"fields": "category,story_id"})
    assert one.json() == {"category": "sports", "story_id": articles[HOCKEY]["story_id"]}


def test_story_pages_by_cursor_and_etag(events: TestClient) -> None:
    for sort in ("importance", "-last_published_at"):
        whole = [i["id"] for i in events.get(STORIES, params={"sort": sort}).json()["items"]]
        seen: list[int] = []
        params: dict[str, Any] = {"sort": sort, "limit": 1}
        while True:
            page = events.get(STORIES, params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [i["id"] for i in body["items"]]
            if body["next_cursor"] is None:
                break
            assert 'rel="next"' in page.headers["link"]
            params["cursor"] = body["next_cursor"]
        assert seen == whole and len(seen) == 3
    other = events.get(STORIES, params={"limit": 1}).json()["next_cursor"]
    tampered = events.get(STORIES, params={"sort": "-last_published_at", "cursor": other})
    assert tampered.status_code == 400

    first = events.get(STORIES)
    etag = first.headers["etag"]
    assert events.get(STORIES, headers={"If-None-Match": etag}).status_code == 304
    story = first.json()["items"][0]["id"]
    detail = events.get(f"{STORIES}/{story}")
    assert (
        events.get(
            f"{STORIES}/{story}", headers={"If-None-Match": detail.headers["etag"]}
        ).status_code
        == 304
    )

    trimmed = events.get(STORIES, params={"fields": "id,article_count"}).json()
    assert set(trimmed["items"][0]) == {"id", "article_count"} and "total" in trimmed
    assert events.get(STORIES, params={"fields": "id,nope"}).status_code == 400
    assert set(events.get(f"{STORIES}/{story}", params={"fields": "title"}).json()) == {"title"}


def test_similar_articles(events: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    write_third_forum_report(corpus)
    ingest(corpus)
    articles = articles_by_url(events)
    forum = articles[FORUM_1]
    response = events.get(f"{ARTICLES}/{forum['id']}/similar")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    own = [i for i in items if i["same_story"]]
    assert {i["url"] for i in own} == {FORUM_2, FORUM_3}
    assert items[: len(own)] == own  # its own story's first
    assert all(i["story_id"] == forum["story_id"] for i in own)
    assert forum["id"] not in [i["id"] for i in items]
    assert all(0 <= i["similarity"] <= 1 for i in items)
    others = [i["similarity"] for i in items if not i["same_story"]]
    assert others == sorted(others, reverse=True)

    limited = events.get(f"{ARTICLES}/{forum['id']}/similar", params={"limit": 1}).json()
    assert len(limited["items"]) == 1 and limited["items"][0]["same_story"]
    trimmed = events.get(
        f"{ARTICLES}/{forum['id']}/similar", params={"fields": "id,similarity"}
    ).json()
    assert set(trimmed["items"][0]) == {"id", "similarity"}
    assert events.get(f"{ARTICLES}/999999/similar").status_code == 404
    assert events.get(f"{ARTICLES}/{forum['id']}/similar", params={"limit": 0}).status_code == 400


def test_rerun_keeps_story_ids_and_new_reports_join(
    events: TestClient, corpus: Path, ingest
) -> None:  # type: ignore[no-untyped-def]
    before = {url: a["story_id"] for url, a in articles_by_url(events).items()}
    stories = events.get(STORIES).json()
    report = ingest(corpus)
    assert (report.inserted, report.updated, report.stories.assigned) == (0, 0, 0)
    assert {url: a["story_id"] for url, a in articles_by_url(events).items()} == before
    assert events.get(STORIES).json() == stories

    write_third_forum_report(corpus)
    assert ingest(corpus).stories.assigned == 1
    after = {url: a["story_id"] for url, a in articles_by_url(events).items()}
    assert after[FORUM_3] == before[FORUM_1]
    assert {u: s for u, s in after.items() if u != FORUM_3} == before
    forum = get_story(events, before[FORUM_1])
    assert (forum["article_count"], forum["source_count"]) == (3, 3)
    assert forum["last_published_at"] == "2019-11-07T07:00:00+00:00"


def test_a_changed_article_moves_to_the_story_it_now_reports(
    events: TestClient,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    before = articles_by_url(events)
    forum_id, hockey_id = before[FORUM_1]["story_id"], before[HOCKEY]["story_id"]
    feed = events.get("/api/v1/changes").json()["next"]
    # The second forum report is rewritten as a report of the hockey match.
    write_article(
        corpus,
        "forum2.txt",
        url=FORUM_2,
        source="Омскинформ",
        title="Сборная России обыграла Финляндию: Капризов забросил две шайбы",
        published="2019-11-06T23:30:00+03:00",
        paragraphs=HOCKEY_AGAIN,
    )
    report = ingest(corpus)
    assert (report.updated, report.stories.assigned) == (1, 1)
    after = articles_by_url(events)
    assert after[FORUM_2]["story_id"] == hockey_id
    assert after[FORUM_2]["category"] == "sports"
    assert get_story(events, forum_id)["article_count"] == 1
    hockey = get_story(events, hockey_id)
    assert (hockey["article_count"], hockey["source_count"]) == (2, 2)
    assert hockey["category"] == "sports"
    assert [a["url"] for a in hockey["articles"]] == [FORUM_2, HOCKEY]
    # The changes feed reports it as updated, with its new story.
    changed = events.get("/api/v1/changes", params={"since": feed}).json()["items"]
    moved = [c for c in changed if c["url"] == FORUM_2]
    assert moved and moved[0]["article"]["story_id"] == hockey_id


def test_the_first_report_changing_leaves_its_story_to_the_others(
    events: TestClient,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    before = articles_by_url(events)
    forum_id, rate_id = before[FORUM_1]["story_id"], before[RATE]["story_id"]
    write_article(
        corpus,
        "forum1.txt",
        url=FORUM_1,
        source="ФедералПресс",
        title="ЦБ снизил ключевую ставку на 50 базисных пунктов",
        published="2019-11-06T14:00:00+03:00",
        paragraphs=RATE_TEXT,
    )
    ingest(corpus)
    after = articles_by_url(events)
    assert after[FORUM_1]["story_id"] == rate_id
    # The other report keeps a story of its own, named after it now.
    assert after[FORUM_2]["story_id"] == after[FORUM_2]["id"]
    assert events.get(f"{STORIES}/{forum_id}").status_code == 404
    assert get_story(events, after[FORUM_2]["id"])["article_count"] == 1
    assert get_story(events, rate_id)["article_count"] == 2
    assert events.get(STORIES).json()["total"] == 3


def test_removals_keep_stories_exact(
    events: TestClient,
    engine: Engine,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    before = articles_by_url(events)
    forum_id = before[FORUM_1]["story_id"]
    removal = delete_urls(engine, [FORUM_1])
    assert [url for url, _ in removal.deleted] == [FORUM_1]
    forum = get_story(events, forum_id)  # keeps its id without the article that started it
    assert (forum["article_count"], forum["source_count"]) == (1, 1)
    assert forum["title"] == "Бурков и Скаков открыли в Омске форум России и Казахстана"

    (corpus / "forum2.txt").unlink()
    prune(engine, corpus)
    assert events.get(f"{STORIES}/{forum_id}").status_code == 404
    assert events.get(STORIES).json()["total"] == 2
    # Its articles back: they start a story of their own again.
    write_events(corpus)
    ingest(corpus)
    assert events.get(STORIES).json()["total"] == 3


def test_pending_articles_are_assigned_by_the_next_run(
    events: TestClient,
    engine: Engine,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    """As after a crash between the batches and the assignment, or for articles loaded
    before migration 0009 (no signature, category 'other', no story)."""
    before = {url: (a["story_id"], a["category"]) for url, a in articles_by_url(events).items()}
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM stories"))
        connection.execute(text("DELETE FROM article_signatures"))
        connection.execute(text("UPDATE articles SET story_id = NULL, category = 'other'"))
    assert {a["story_id"] for a in articles_by_url(events).values()} == {None}
    report = ingest(corpus)
    assert (report.stories.described, report.stories.assigned) == (4, 4)
    after = {url: (a["story_id"], a["category"]) for url, a in articles_by_url(events).items()}
    assert after == before
    assert events.get(STORIES).json()["total"] == 3


def test_both_databases_give_the_same_categories_and_stories(
    make_database,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path / "events"
    write_events(folder)
    write_third_forum_report(folder)
    found = {}
    for backend in ("sqlite", "postgresql"):
        engine = make_engine(make_database(backend))
        try:
            upgrade_to_head(engine)
            ingest_paths(engine, [folder])
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT a.url, a.category, s.url FROM articles a "
                        "JOIN articles s ON s.id = a.story_id"
                    )
                ).all()
                stories = connection.execute(
                    text("SELECT id, article_count, source_count, category FROM stories")
                ).all()
        finally:
            engine.dispose()
        found[backend] = (sorted(map(tuple, rows)), sorted(map(tuple, stories)))
    assert found["sqlite"] == found["postgresql"]
    by_url = {url: (category, founder) for url, category, founder in found["sqlite"][0]}
    assert by_url[FORUM_3] == (by_url[FORUM_1][0], FORUM_1)
    assert by_url[HOCKEY] == ("sports", HOCKEY)


def test_restory_computes_every_category_and_story_again(
    events: TestClient,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    before = {url: (a["story_id"], a["category"]) for url, a in articles_by_url(events).items()}
    with engine.begin() as connection:
        connection.execute(text("UPDATE articles SET category = 'other'"))
        connection.execute(text("UPDATE stories SET article_count = 99"))
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert cli.main(["--restory", "--json"]) == 0
    finally:
        get_settings.cache_clear()
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["assigned"] == 4
    after = {url: (a["story_id"], a["category"]) for url, a in articles_by_url(events).items()}
    assert after == before  # the same files, the same stories
    assert {s["article_count"] for s in events.get(STORIES).json()["items"]} == {1, 2}
