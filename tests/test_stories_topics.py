"""app.stories: categories, signatures and stories, on small texts written for these tests."""

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app.search.analyzer import normalize, terms
from app.stories import grouping, lexicon, topics
from app.stories.grouping import WINDOW, Member, assign, key_terms, similarity

NOON = datetime(2021, 3, 10, 12, 0, tzinfo=UTC)

# Made-up events, each told by two outlets in their own words.
FIRE_A = (
    "В Твери загорелся склад мебельной фабрики «Ромашка»",
    "Вечером в Заволжском районе Твери загорелся склад мебельной фабрики «Ромашка». "
    "Огонь охватил 800 квадратных метров, на месте работали 46 пожарных и 12 единиц "
    "техники. По словам представителя МЧС, пострадавших нет, причины возгорания "
    "устанавливают дознаватели.",
)
FIRE_B = (
    "Пожар на складе фабрики «Ромашка» в Твери потушили",
    "Спасатели МЧС ликвидировали открытое горение на складе мебельной фабрики «Ромашка» "
    "в Заволжском районе Твери. Площадь пожара составила 800 квадратных метров, тушили "
    "его 46 пожарных. Никто не пострадал, дознаватели выясняют причину.",
)
MATCH = (
    "«Амкар» обыграл «Балтику» в Перми",
    "Футболисты «Амкара» победили «Балтику» со счетом 3:1 в матче первенства, который "
    "прошел на стадионе «Звезда» в Перми. Два гола забил нападающий Осипенко, "
    "вратарь гостей Кулик отразил пенальти.",
)
# One (made-up) minister, two unrelated occasions on one day.
MINISTER_SCHOOL = (
    "Министр Громыко открыл новую школу в Калуге",
    "Министр просвещения Аркадий Громыко открыл в Калуге новую школу на 1100 учеников. "
    "В здании есть бассейн, планетарий и мастерские, первые уроки пройдут в сентябре. "
    "Громыко перерезал ленточку вместе с губернатором.",
)
MINISTER_PENSIONS = (
    "Громыко высказался о пенсиях учителей",
    "Аркадий Громыко в интервью радиостанции заявил, что надбавки к пенсиям сельских "
    "учителей нужно пересчитать. По мнению министра, выплаты не индексировали с 2015 "
    "года, а фонд оплаты труда недофинансирован.",
)


def describe(title: str, body: str, url: str = "https://news.example.ru/a/1.html") -> topics.Topic:
    return topics.describe(url, terms(title), terms(body))


def member(
    article_id: int,
    text: tuple[str, str],
    *,
    hours: float = 0,
    story_id: int | None = None,
    source_id: int = 1,
) -> Member:
    signature = describe(*text).signature
    return Member(article_id, NOON + timedelta(hours=hours), source_id, signature, story_id)


def stories(members: list[Member]) -> dict[int, int]:
    return dict(assign(members))


# Categories


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("https://news.example.ru/sport/2021/03/10/item.html", "sports"),
        ("https://sport.example.ru/news/item-12", "sports"),
        ("https://example.ua/biz/economics/12345.html", "economy"),
        ("https://example.com/tech/gadgets/12345", "technology"),
        ("https://example.kz/culture/kino/12345", "entertainment"),
        ("https://example.ru/science/space/12345", "science"),
        ("https://example.ru/news/2021/03/10/12345", "society"),  # no section: society
    ],
)
def test_a_url_section_decides_a_neutral_article(url: str, category: str) -> None:
    text = ("Итоги дня в Калуге", "В Калуге подвели итоги дня, рассказали в администрации.")
    assert describe(*text, url=url).category == category


def test_words_decide_without_a_section() -> None:
    assert describe(*MATCH).category == "sports"
    assert describe(*FIRE_A).category == "society"
    economy = (
        "Курс рубля к доллару снизился на бирже",
        "Курс доллара на Московской бирже вырос до 78 рублей, нефть марки Brent подешевела, "
        "инвесторы продают акции и облигации, сообщают аналитики банка.",
    )
    assert describe(*economy).category == "economy"
    gadget = (
        "Новый смартфон получил беспроводную зарядку",
        "Производитель представил смартфон с аккумулятором на 5000 мАч, беспроводной "
        "зарядкой и процессором нового поколения; обновление прошивки выйдет для Android.",
    )
    assert describe(*gadget).category == "technology"
    film = (
        "Режиссер представил трейлер нового фильма",
        "Премьера фильма состоится в кинотеатрах весной, в главной роли актриса и певица, "
        "съемки сериала по мотивам романа начнутся летом.",
    )
    assert describe(*film).category == "entertainment"
    study = (
        "Ученые обнаружили новый ген",
        "Исследователи университета обнаружили ген, который связан с диабетом; результаты "
        "исследования и эксперимента на клетках опубликованы в научном журнале.",
    )
    assert describe(*study).category == "science"


def test_words_outvote_a_weak_section_but_not_a_clear_one() -> None:
    # A football report filed under a general "society" section is still sports...
    assert describe(*MATCH, url="https://example.ru/society/12345").category == "sports"
    # ...and an article with hardly any words of its own follows its section.
    short = ("Подробности позже", "Обещали рассказать вечером.")
    assert describe(*short, url="https://example.ru/culture/1").category == "entertainment"


def test_every_category_is_one_of_the_seven() -> None:
    assert set(topics.CATEGORIES) == {
        "society",
        "economy",
        "technology",
        "sports",
        "entertainment",
        "science",
        "other",
    }
    assert describe("", "").category in topics.CATEGORIES
    assert set(lexicon.URL_SECTIONS.values()) <= set(topics.CATEGORIES)
    assert set(lexicon.CATEGORY_WORDS) <= set(topics.CATEGORIES)


def test_the_word_lists_are_in_the_analyzers_term_form() -> None:
    """A lexicon word that the analyzer never produces would never count."""
    words = {w for words in lexicon.CATEGORY_WORDS.values() for w in words} | lexicon.COMMON
    assert sorted(w for w in words if normalize(w) != w) == []


# Signatures


def test_a_signature_is_small_distinctive_and_ordered() -> None:
    signature = describe(*FIRE_A).signature
    assert 0 < len(signature.encode()) <= topics.SIGNATURE_BYTES
    weights = grouping.parse(signature)
    assert "ромашка" in weights and "склад" in weights
    assert not weights.keys() & {"в", "на", "по", "слово", "который"}  # common words
    top = key_terms(signature, 3)
    assert len(top) == 3 and set(top) <= {
        "ромашка",
        "склад",
        "тверь",
        "загореться",
        "фабрика",
        "мебельный",
    }
    assert key_terms(signature, 100) == list(weights)  # stored strongest first
    assert describe(*FIRE_A).signature == signature  # deterministic


def test_a_long_article_keeps_its_signature_under_the_limit() -> None:
    body = " ".join(f"Слово{i} абракадабра{i} длинноесловопроверки{i}" for i in range(300))
    assert len(describe("Заголовок", body).signature.encode()) <= topics.SIGNATURE_BYTES
    assert describe("", "").signature == ""


def test_similarity_of_signatures() -> None:
    fire_a, fire_b = describe(*FIRE_A).signature, describe(*FIRE_B).signature
    match = describe(*MATCH).signature
    assert similarity(fire_a, fire_a) == pytest.approx(1.0)
    assert similarity(fire_a, fire_b) > similarity(fire_a, match)
    assert similarity(fire_a, match) == pytest.approx(0.0, abs=0.05)
    assert similarity("", fire_a) == 0.0
    assert similarity("ромашка склад", "склад ромашка") == pytest.approx(1.0)  # bare terms


def test_signatures_parse_leniently() -> None:
    assert grouping.parse("тверь:9 склад:3") == {"тверь": 9.0, "склад": 3.0}
    assert grouping.parse("тверь склад") == {"тверь": 1.0, "склад": 1.0}  # older, bare
    assert grouping.parse("тверь:x склад:0 :4 склад:2") == {"тверь": 1.0, "склад": 2.0}
    assert grouping.parse("") == {}


# Stories


def test_two_sources_on_one_event_share_a_story() -> None:
    result = stories(
        [member(1, FIRE_A, source_id=1), member(2, MATCH), member(3, FIRE_B, hours=2, source_id=2)]
    )
    assert result == {1: 1, 2: 2, 3: 1}


def test_a_near_duplicate_repost_joins_its_original() -> None:
    repost = (FIRE_A[0] + " (фото)", FIRE_A[1] + " Фото: читатели.")
    result = stories([member(5, FIRE_A), member(6, MATCH), member(9, repost, hours=5)])
    assert result[9] == 5


def test_one_person_on_two_occasions_is_two_stories() -> None:
    result = stories([member(1, MINISTER_SCHOOL), member(2, MINISTER_PENSIONS, hours=1)])
    assert result == {1: 1, 2: 2}


def test_articles_further_apart_than_the_window_are_different_stories() -> None:
    late = WINDOW + timedelta(hours=1)
    result = stories([member(1, FIRE_A), member(2, FIRE_A, hours=late.total_seconds() / 3600)])
    assert result == {1: 1, 2: 2}
    within = WINDOW - timedelta(hours=1)
    result = stories([member(1, FIRE_A), member(2, FIRE_B, hours=within.total_seconds() / 3600)])
    assert result == {1: 1, 2: 1}


def test_a_daily_report_does_not_chain_into_one_long_story() -> None:
    """The same report every day, each within WINDOW of the day before: single links
    would chain them all; a story spans at most MAX_SPAN."""
    days = [member(i, FIRE_A if i % 2 else FIRE_B, hours=24 * i) for i in range(1, 11)]
    result = stories(days)
    by_story: dict[int, list[int]] = {}
    for article, story in result.items():
        by_story.setdefault(story, []).append(article)
    assert len(by_story) > 1
    for articles in by_story.values():
        span = 24 * (max(articles) - min(articles))
        assert timedelta(hours=span) <= grouping.MAX_SPAN


def test_a_stored_story_that_began_long_ago_takes_no_more_articles() -> None:
    old = NOON - grouping.MAX_SPAN
    stored = Member(7, NOON - timedelta(hours=1), 1, describe(*FIRE_A).signature, 5, old)
    assert stories([stored, member(8, FIRE_B, hours=1)]) == {8: 8}
    recent = Member(7, NOON - timedelta(hours=1), 1, describe(*FIRE_A).signature, 5, NOON)
    assert stories([recent, member(8, FIRE_B, hours=1)]) == {8: 5}


def test_assigned_members_keep_their_story_and_are_joined() -> None:
    # Stored earlier (story 40 from another ingest), and one stored later than the new one.
    members = [
        member(7, FIRE_A, story_id=40),
        member(8, MINISTER_SCHOOL),
        member(10, FIRE_B, hours=1),
        member(11, MATCH, hours=2, story_id=11),
        member(12, MATCH, hours=3),
    ]
    result = stories(members)
    assert result == {8: 8, 10: 40, 12: 11}  # only the unassigned, each joined or its own


def test_a_later_stored_member_is_a_candidate() -> None:
    members = [member(3, FIRE_B), member(4, FIRE_A, hours=2, story_id=90)]
    assert stories(members) == {3: 90}


def test_assign_is_deterministic_and_in_stream_order() -> None:
    members = [
        member(i, text, hours=i / 2, source_id=i % 3)
        for i, text in enumerate(
            [FIRE_A, MATCH, MINISTER_SCHOOL, FIRE_B, MINISTER_PENSIONS, FIRE_A, MATCH], start=1
        )
    ]
    first = list(assign(members))
    assert first == list(assign(members))
    assert [article for article, _ in first] == [m.article_id for m in members]
    # Every story id is the article id of a member of that story.
    assert {story for _, story in first} <= {m.article_id for m in members}


_IN_ANOTHER_PROCESS = """
from tests.test_stories_topics import FIRE_A, FIRE_B, MATCH, MINISTER_PENSIONS, MINISTER_SCHOOL
from tests.test_stories_topics import member
from app.stories.grouping import assign
texts = [FIRE_A, MATCH, MINISTER_SCHOOL, FIRE_B, MINISTER_PENSIONS, FIRE_A, MATCH, FIRE_B]
members = [member(i, t, hours=i / 3, source_id=i % 2) for i, t in enumerate(texts, start=1)]
print([member.signature for member in members], list(assign(members)))
"""


def test_same_answer_in_every_process() -> None:
    """Python seeds string hashes per process: nothing may depend on a set's order."""
    answers = {
        subprocess.run(
            [sys.executable, "-c", _IN_ANOTHER_PROCESS],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(answers) == 1


def _word(number: int) -> str:
    """A made-up word of letters only, one per number."""
    return "".join("абвгдежзик"[int(digit)] for digit in str(number))


def _stream(count: int, *, every: timedelta) -> Iterator[Member]:
    for i in range(count):
        word = "щ" + _word(i) + "щ"
        body = " ".join(word + ending for ending in ("ов", "ин", "ская", "ец", "ия"))
        yield Member(i, NOON + i * every, 1, describe(f"Новость {word}", body).signature, None)


def test_memory_holds_only_the_window() -> None:
    """A long stream: the members in memory never exceed those within two WINDOWs."""
    every = timedelta(hours=1)
    per_window = int(2 * WINDOW / every) + 2
    consumed = 0

    def counted() -> Iterator[Member]:
        nonlocal consumed
        for item in _stream(2000, every=every):
            consumed += 1
            yield item

    results = assign(counted())
    for yielded, (article, story) in enumerate(results, start=1):
        assert article == story  # all different
        assert consumed - yielded <= per_window  # lazy: output follows the input
        if yielded in (500, 1500):
            alive = sum(isinstance(o, grouping._Entry) for o in gc.get_objects())
            assert alive <= per_window + 1
    assert consumed == 2000
