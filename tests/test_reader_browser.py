"""The reader page at `/` and the API docs, in headless Chromium, as a person uses them.

A real uvicorn serves a small Russian archive (tests.sample_archive); Playwright drives
Debian's /usr/bin/chromium (no browser download). Every request the page makes is
routed through a guard that fails the test if it goes anywhere but 127.0.0.1.

Outside CI the tests skip, saying why, when Chromium or Playwright is missing; under
CI=true they fail instead. UPDATE_SCREENSHOT=1 rewrites docs/reader.png.
"""

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.config import ROOT
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.migrate import upgrade_to_head
from tests.sample_archive import XSS_TITLE, write_sample_archive
from tests.servers import uvicorn_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SCREENSHOT = ROOT / "docs" / "reader.png"
TIMEOUT_MS = 10_000

try:
    from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the machine
    PLAYWRIGHT_MISSING: str | None = f"Playwright for Python is not installed ({exc})"
else:
    PLAYWRIGHT_MISSING = None


def cannot_run(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    if PLAYWRIGHT_MISSING:
        cannot_run(PLAYWRIGHT_MISSING)
    if not Path(CHROMIUM).exists():
        cannot_run(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM)
        except Exception as exc:
            cannot_run(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield launched
        launched.close()


def serve(database_url: str) -> Iterator[str]:
    """A uvicorn over database_url, as `make run` starts it; its base URL."""
    with uvicorn_server(database_url, env={"CURSOR_SECRET": "browser-test"}) as base:
        yield base


def archive_url(make_database: Any, backend: str, folder: Path) -> str:
    url: str = make_database(backend)
    engine = make_engine(url)
    upgrade_to_head(engine)
    if folder.exists():
        report = ingest_paths(engine, [folder], batch_size=500, workers=1)
        assert report.inserted == report.read and not report.rejected, report
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def reader(
    backend: str, make_database: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("sample-archive")
    write_sample_archive(folder)
    yield from serve(archive_url(make_database, backend, folder))


@pytest.fixture(scope="module")
def empty_server(make_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(archive_url(make_database, "sqlite", tmp_path_factory.mktemp("none")))


@dataclass
class Tab:
    page: "Page"
    outside: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert all(url.endswith("(csp)") for url in self.blocked), self.blocked
        assert self.problems == [], f"errors in the page: {self.problems}"


@pytest.fixture
def tab(browser: "Browser") -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    tab = Tab(page)

    def guard(route: "Route") -> None:
        url = route.request.url
        if url.startswith("data:") or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            tab.outside.append(url)
            route.abort()

    context.route("**/*", guard)
    # A request the page's Content-Security-Policy stops never reaches the guard; the
    # browser still reports it, and it must have failed there, before the network.
    context.on(
        "requestfailed",
        lambda request: (
            tab.blocked.append(f"{request.url} ({request.failure})")
            if urlsplit(request.url).hostname != "127.0.0.1"
            else None
        ),
    )
    page.on("pageerror", lambda error: tab.problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            tab.problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on(
        "dialog",
        lambda dialog: (tab.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()),
    )
    yield tab
    context.close()


def result_titles(page: "Page") -> list[str]:
    return page.locator("#list .result h3").all_inner_texts()


def test_search_filter_and_read_an_article(reader: str, tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    page.goto(f"{reader}/")
    expect(page).to_have_title("News archive")
    # The unfiltered archive: newest first, 20 at a time, the rest on scrolling down.
    expect(page.locator("#summary")).to_have_text("24 articles · showing 20")
    expect(page.locator("#list .result")).to_have_count(20)
    page.locator("#more").scroll_into_view_if_needed()
    expect(page.locator("#summary")).to_have_text("24 articles · showing 24")
    expect(page.locator("#list .result")).to_have_count(24)
    expect(page.locator("#more")).to_be_hidden()
    assert len(set(result_titles(page))) == 24
    # The pickers are fed by the API.
    expect(page.locator("#source option")).to_have_count(5)  # "All sources" and four
    expect(page.locator("#source")).to_contain_text("ФедералПресс (fedpress.ru)")
    page.get_by_label("Author", exact=True).fill("Екат")
    expect(page.locator("#author-names option")).to_have_count(1)
    assert page.locator("#author-names option").get_attribute("value") == "Екатерина Сумина"
    page.get_by_label("Author", exact=True).fill("")
    # Facets and the timeline (a day per bar over November 2019).
    expect(page.locator("#facet-sources li")).to_have_count(4)
    expect(page.locator("#facet-sources")).to_contain_text("РИА Новости")
    expect(page.locator("#timeline .bar").first).to_have_attribute(
        "aria-label", "1 Nov 2019: 1 article"
    )

    # A search in another form of the word: «форумы» finds «форума», «форум», «форумов»…
    page.get_by_label("Search", exact=True).fill("форумы")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#summary")).to_have_text("4 articles · showing 4")
    assert re.search(r"[?&]q=%D1%84%D0%BE%D1%80%D1%83%D0%BC%D1%8B", page.url), page.url
    first = page.locator("#list .result", has_text="завершилась работа форума")
    expect(first.locator("h3 mark")).to_have_text(["форума"])
    expect(first.locator(".snippet mark").first).to_be_visible()
    expect(page.locator("#facet-sources li")).to_have_count(2)
    expect(page.locator("#timeline .bar:not([disabled])")).to_have_count(3)  # 6, 7 and 12 Nov
    page.screenshot(path=tmp_path / "reader.png")
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(tmp_path / "reader.png", SCREENSHOT)
    # The source filter, from the picker.
    page.get_by_label("Source", exact=True).select_option("fedpress.ru")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#summary")).to_have_text("2 articles · showing 2")
    assert all("ФедералПресс" in meta for meta in page.locator("#list .meta").all_inner_texts())
    expect(page.locator("#facet-sources button[aria-pressed=true]")).to_have_text(
        re.compile("ФедералПресс")
    )
    assert "source=fedpress.ru" in page.url

    # Open the article: its full text, byline, photo credit and a link to the source.
    page.get_by_role("link", name=re.compile("завершилась работа форума")).click()
    view = page.locator("#article")
    expect(view).to_be_visible()
    expect(page.locator("#results")).to_be_hidden()
    expect(view.get_by_role("heading", level=2)).to_have_text(
        "В Омске завершилась работа форума сотрудничества России и Казахстана"
    )
    expect(view.locator(".meta")).to_have_text(
        "7 Nov 2019, 18:40 · ФедералПресс · Екатерина Сумина"
    )
    expect(view.locator(".body p")).to_have_count(3)
    expect(view.locator(".body")).to_contain_text("подписали более сорока соглашений")
    expect(view.locator(".photo")).to_have_text("Photo: пресс-служба правительства Омской области")
    source_link = view.get_by_role("link", name="ФедералПресс (fedpress.ru)")
    expect(source_link).to_have_attribute("href", "https://fedpress.ru/news/55/economy/2360114")
    assert re.search(r"[?&]article=\d+", page.url)
    expect(page).to_have_title(re.compile("^В Омске завершилась работа форума"))
    # The link to this view opens it directly.
    linked = page.url
    # Back (the button) returns to the same results.
    page.get_by_role("button", name="← Back to results").click()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#summary")).to_have_text("2 articles · showing 2")
    page.goto(linked)
    expect(page.locator("#article h2")).to_contain_text("завершилась работа форума")
    expect(page.get_by_label("Search", exact=True)).to_have_value("форумы")
    expect(page.get_by_label("Source", exact=True)).to_have_value("fedpress.ru")
    page.keyboard.press("Escape")
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#list .result")).to_have_count(2)
    tab.assert_clean()


def test_stories_of_a_category_and_their_articles(reader: str, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{reader}/")
    expect(page.locator("#summary")).to_have_text("24 articles · showing 20")
    page.get_by_role("link", name="Stories", exact=True).click()
    expect(page.get_by_role("heading", name="Top stories")).to_be_visible()
    expect(page.locator("#search")).to_be_hidden()
    expect(page.locator("#results")).to_be_hidden()
    assert "view=stories" in page.url
    stories = page.locator("#story-list .story-item")
    expect(page.locator("#stories-summary")).to_have_text(
        re.compile(r"^\d+ stories · showing \d+$")
    )
    assert stories.count() >= 5
    # The two reports of the forum's opening from one source make one story of 2 articles.
    forum = stories.filter(has_text="В Омске стартовал российско-казахстанский форум")
    expect(forum.locator(".meta")).to_contain_text("2 articles · 1 source")
    # A category, from the picker: the one sports story.
    page.get_by_label("Category", exact=True).select_option("sports")
    page.get_by_role("button", name="Show stories").click()
    expect(page.locator("#stories-summary")).to_have_text("1 story · showing 1")
    expect(stories).to_have_count(1)
    expect(stories.locator(".category")).to_have_text("Sports")
    assert "category=sports" in page.url
    # Open it: its articles, then one of them, and back.
    stories.get_by_role("link").click()
    view = page.locator("#story")
    expect(view).to_be_visible()
    expect(view.get_by_role("heading", level=2)).to_have_text(
        "Хоккеисты «Авангарда» обыграли СКА в овертайме"
    )
    expect(view.locator(".meta").first).to_contain_text("Sports · 1 article · 1 source")
    expect(page.locator("#story-articles .result")).to_have_count(1)
    assert re.search(r"[?&]story=\d+", page.url)
    page.locator("#story-articles a").click()
    expect(page.locator("#article")).to_be_visible()
    expect(view).to_be_hidden()
    expect(page.locator("#article h2")).to_have_text(
        "Хоккеисты «Авангарда» обыграли СКА в овертайме"
    )
    page.get_by_role("button", name="← Back to results").click()
    expect(view).to_be_visible()
    page.get_by_role("button", name="← Back to stories").click()
    expect(page.locator("#stories")).to_be_visible()
    expect(stories).to_have_count(1)
    # A shared link opens the same view; the Articles view is one click away.
    page.goto(f"{reader}/?view=stories&category=economy")
    expect(page.get_by_label("Category", exact=True)).to_have_value("economy")
    expect(page.locator("#story-list .category").first).to_have_text("Economy")
    page.get_by_role("link", name="Articles", exact=True).click()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#summary")).to_have_text("24 articles · showing 20")
    tab.assert_clean()


def test_article_text_is_never_run_as_html(reader: str, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{reader}/?q=блогеров")
    item = page.locator("#list .result")
    expect(item).to_have_count(1)
    # The highlighted title: the markup shows as typed, only the match is marked.
    expect(item.locator("h3")).to_have_text(XSS_TITLE)
    expect(item.locator("h3 mark")).to_have_text(["блогеров"])
    item.get_by_role("link").click()
    expect(page.locator("#article h2")).to_have_text(XSS_TITLE)
    expect(page.locator("#article .body")).to_contain_text(
        'Участники фестиваля обсудили <b>спортивные</b> трансляции <a href="javascript:'
    )
    for container in ("#list", "#article"):
        assert page.locator(f"{container} img, {container} script, {container} b").count() == 0
    assert page.locator("#article .body a").count() == 0
    assert page.evaluate("window.__xss") is None
    tab.assert_clean()


def test_problems_show_as_readable_messages(reader: str, tab: Tab) -> None:
    page = tab.page
    # A bad date in a shared link: the API's problem, named by the field's label.
    page.goto(f"{reader}/?from=2019-13-01")
    expect(page.get_by_role("alert")).to_have_text(
        "Invalid parameters. From: '2019-13-01' is not a date (YYYY-MM-DD) or an ISO 8601 datetime"
    )
    # Dates the wrong way round, typed into the form.
    page.get_by_label("From", exact=True).fill("2019-11-10")
    page.get_by_label("To", exact=True).fill("2019-11-01")
    page.get_by_label("To", exact=True).press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Invalid parameters. To: is before `from`")
    expect(page.locator("#list .result")).to_have_count(0)
    # Corrected, the message goes and the results come.
    page.get_by_label("To", exact=True).fill("2019-11-30")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.locator("#summary")).to_have_text("10 articles · showing 10")
    # A bar of the timeline (by day over these three weeks) narrows the dates to its day.
    expect(page.get_by_role("button", name="17 Nov 2019: 0 articles")).to_be_disabled()
    page.get_by_role("button", name="14 Nov 2019: 2 articles").click()
    expect(page.locator("#summary")).to_have_text("2 articles · showing 2")
    expect(page.get_by_label("From", exact=True)).to_have_value("2019-11-14")
    expect(page.get_by_label("To", exact=True)).to_have_value("2019-11-14")
    assert "from=2019-11-14&to=2019-11-14" in page.url
    # The browser logs the two 400s it was answered; nothing else went wrong.
    tab.problems = [p for p in tab.problems if "status of 400 (Bad Request)" not in p]
    tab.assert_clean()


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", ".swagger-ui .opblock-tag-section"),
        ("/redoc", "[role=navigation] li, .menu-content li"),
    ],
)
def test_docs_render_offline(empty_server: str, tab: Tab, path: str, rendered: str) -> None:
    page = tab.page
    page.goto(f"{empty_server}{path}")
    expect(page.locator(rendered).first).to_be_visible()
    expect(page.get_by_text("News archive API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/articles/facets").first).to_be_attached()
    # ReDoc's bundle asks for Redocly's logo from their CDN; the page's policy stops the
    # browser from making the request (so it never reaches the guard), which it logs.
    tab.problems = [p for p in tab.problems if "violates the following Content Security" not in p]
    if path == "/redoc":
        assert tab.blocked == ["https://cdn.redoc.ly/redoc/logo-mini.svg (csp)"]
    tab.assert_clean()
