#!/usr/bin/env python
"""How good the categories and stories of app.stories are, and what they cost (issue 12).

    .venv/bin/python scripts/eval_stories.py /tmp/corpus/tgnews2019_ru [--out FILE] [--ingest]
    .venv/bin/python scripts/eval_stories.py ../shared/corpus/tgnews2019_ru.tar.xz

Reads a folder of article files (or a .tar.xz of them) with the app's own parser and
analyser, runs topics.describe() on every article and grouping.assign() over them all as
the ingest does (articles numbered in file order, as the ingest inserts them, a URL seen
again replacing the earlier file; the stream ordered by published_at, then that number),
and prints markdown: pairwise precision, recall and F1 of the story ids over
tests/data/story_pairs.tsv, category accuracy on the news articles of
tests/data/categories.tsv with the confusion table, and the cost of describe() and
assign() per article beside the parser's and the analyser's.

--ingest also loads the corpus with the real ingest (a new SQLite database, one process)
and gives describe() + assign() as a share of its CPU time: the overhead stories and
categories add to an ingest. --cache FILE keeps the parsed and analysed articles (outside
the repository: they hold the corpus's terms) so that later runs only time describe() and
assign().
"""

import argparse
import csv
import io
import pickle
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.ingest.parser import ParseError, parse_article
from app.migrate import upgrade_to_head
from app.search import analyzer
from app.search.analyzer import terms
from app.stories import grouping, topics

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# The pair sample's strata: (eligible pairs in the corpus, pairs drawn), from
# tests/data/LABELS.md. Weighting each pair by population / drawn estimates the figures
# over every pair of the corpus published within 48 hours (the undrawn pairs below
# cosine 0.05 counted as negatives that are never put together).
STRATA = {
    "0.9+": (564, 30),
    "0.7-0.9": (2_114, 45),
    "0.5-0.7": (11_613, 80),
    "0.3-0.5": (42_056, 110),
    "0.15-0.3": (88_101, 95),
    "0.05-0.15": (931_138, 40),
    "same_source": (9_367, 40),
}


@dataclass(frozen=True, slots=True)
class Analysed:
    url: str
    published_at: datetime
    source: str
    title_terms: list[str]
    body_terms: list[str]


@dataclass(slots=True)
class Costs:
    files: int = 0
    parse: float = 0.0
    analyse: float = 0.0
    describe: float = 0.0
    assign: float = 0.0


def _files(corpus: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every .txt article file, in the ingest's order (sorted names)."""
    if corpus.is_dir():
        for path in sorted(corpus.rglob("*.txt")):
            yield str(path.relative_to(corpus)), path.read_bytes()
        return
    with tarfile.open(corpus, "r:*") as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".txt")),
            key=lambda m: m.name,
        )
        for member in members:
            handle = archive.extractfile(member)
            if handle is not None:
                yield member.name, handle.read()


def load(corpus: Path, costs: Costs) -> list[Analysed]:
    articles: dict[str, Analysed] = {}  # by URL: a URL seen again replaces the earlier
    for _name, data in _files(corpus):
        costs.files += 1
        start = time.process_time()
        try:
            article = parse_article(data)
        except ParseError:
            continue
        parsed = time.process_time()
        title_terms, body_terms = terms(article.title), terms(article.body)
        costs.analyse += time.process_time() - parsed
        costs.parse += parsed - start
        articles.pop(article.url, None)
        articles[article.url] = Analysed(
            article.url, article.published_at, article.source_domain, title_terms, body_terms
        )
    return list(articles.values())


def run(
    articles: list[Analysed], costs: Costs
) -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """category, story id and signature by URL."""
    sources: dict[str, int] = {}
    described: list[topics.Topic] = []
    start = time.process_time()
    for article in articles:
        described.append(topics.describe(article.url, article.title_terms, article.body_terms))
    costs.describe = time.process_time() - start
    members = sorted(
        (
            grouping.Member(
                number,
                article.published_at,
                sources.setdefault(article.source, len(sources)),
                topic.signature,
                None,
            )
            for number, (article, topic) in enumerate(zip(articles, described, strict=True))
        ),
        key=lambda m: (m.published_at, m.article_id),
    )
    start = time.process_time()
    stories = dict(grouping.assign(members))
    costs.assign = time.process_time() - start
    return (
        {a.url: t.category for a, t in zip(articles, described, strict=True)},
        {a.url: stories[number] for number, a in enumerate(articles)},
        {a.url: t.signature for a, t in zip(articles, described, strict=True)},
    )


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def story_report(stories: dict[str, int], out: io.StringIO) -> list[dict[str, str]]:
    """The pairwise table; returns the misjudged pairs."""
    pairs = [p for p in _rows("story_pairs.tsv") if p["url_a"] in stories and p["url_b"] in stories]
    wrong: list[dict[str, str]] = []
    out.write("## Stories: pairwise agreement with tests/data/story_pairs.tsv\n\n")
    out.write("| split | pairs | same | TP | FP | FN | precision | recall | F1 |\n")
    out.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for split in ("dev", "test", "all"):
        counts: Counter[str] = Counter()
        chosen = [p for p in pairs if split in ("all", p["split"])]
        for pair in chosen:
            same = stories[pair["url_a"]] == stories[pair["url_b"]]
            label = pair["same_story"] == "1"
            counts["tp" if same and label else "fp" if same else "fn" if label else "tn"] += 1
            if same != label and split == "all":
                wrong.append(pair)
        precision, recall, f1 = _prf(counts["tp"], counts["fp"], counts["fn"])
        out.write(
            f"| {split} | {len(chosen)} | {counts['tp'] + counts['fn']} | {counts['tp']} | "
            f"{counts['fp']} | {counts['fn']} | {precision:.3f} | {recall:.3f} | {f1:.3f} |\n"
        )
    weighted = dict.fromkeys(("tp", "fp", "fn", "tn"), 0.0)
    for pair in pairs:
        population, drawn = STRATA[pair["stratum"]]
        same = stories[pair["url_a"]] == stories[pair["url_b"]]
        label = pair["same_story"] == "1"
        kind = "tp" if same and label else "fp" if same else "fn" if label else "tn"
        weighted[kind] += population / drawn
    precision, recall, f1 = _prf(weighted["tp"], weighted["fp"], weighted["fn"])
    out.write(
        f"| corpus estimate (all, weighted by stratum) | {sum(weighted.values()):,.0f} | "
        f"{weighted['tp'] + weighted['fn']:,.0f} | {weighted['tp']:,.0f} | "
        f"{weighted['fp']:,.0f} | {weighted['fn']:,.0f} | {precision:.3f} | {recall:.3f} | "
        f"{f1:.3f} |\n"
    )
    out.write("\nBy similarity bin (all splits): pairs put together / pairs labelled same\n\n")
    out.write("| bin | pairs | labelled same | put together | wrong |\n|---|---:|---:|---:|---:|\n")
    for name in ("0.9+", "0.7-0.9", "0.5-0.7", "0.3-0.5", "0.15-0.3", "0.05-0.15"):
        chosen = [p for p in pairs if p["similarity_bin"] == name]
        together = [stories[p["url_a"]] == stories[p["url_b"]] for p in chosen]
        labels = [p["same_story"] == "1" for p in chosen]
        labelled = labels.count(True)
        errors = sum(1 for put, label in zip(together, labels, strict=True) if put != label)
        out.write(f"| {name} | {len(chosen)} | {labelled} | {together.count(True)} | {errors} |\n")
    out.write("\n")
    return wrong


def category_report(categories: dict[str, str], out: io.StringIO) -> list[dict[str, str]]:
    """Accuracy and the confusion table on news articles; returns the misjudged ones."""
    rows = [r for r in _rows("categories.tsv") if r["url"] in categories]
    news = [r for r in rows if r["is_news"] == "1"]
    out.write("## Categories: accuracy on the news articles of tests/data/categories.tsv\n\n")
    out.write("| articles | news | right | accuracy |\n|---|---:|---:|---:|\n")
    for name, chosen in (
        (
            "random sample, dev",
            [r for r in news if r["sample"] == "random" and r["split"] == "dev"],
        ),
        (
            "random sample, test",
            [r for r in news if r["sample"] == "random" and r["split"] == "test"],
        ),
        ("random sample (representative)", [r for r in news if r["sample"] == "random"]),
        ("random + extra", news),
    ):
        right = sum(categories[r["url"]] == r["category"] for r in chosen)
        accuracy = right / len(chosen) if chosen else 0.0
        out.write(f"| {name} | {len(chosen)} | {right} | {accuracy:.3f} |\n")
    names = topics.CATEGORIES
    table: Counter[tuple[str, str]] = Counter((r["category"], categories[r["url"]]) for r in news)
    out.write("\nConfusion (news, random + extra): rows are the hand labels, columns the ")
    out.write("decided categories\n\n")
    out.write("| label \\ decided | " + " | ".join(names) + " | recall |\n")
    out.write("|---|" + "---:|" * (len(names) + 1) + "\n")
    for label in names:
        total = sum(table[label, d] for d in names)
        cells = " | ".join(str(table[label, d]) for d in names)
        recall = f"{table[label, label] / total:.2f}" if total else "-"
        out.write(f"| {label} | {cells} | {recall} |\n")
    out.write("\n")
    return [r for r in news if categories[r["url"]] != r["category"]]


def ingest_cost(corpus: Path) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, articles) of the real ingest of the corpus into a new
    SQLite database, one process (parse, analyse, write), as `scripts/ingest.py` does."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = corpus
        if not corpus.is_dir():
            folder = Path(scratch) / "files"
            with tarfile.open(corpus, "r:*") as archive:
                archive.extractall(folder, filter="data")
        engine = make_engine(f"sqlite:///{Path(scratch) / 'ingest.db'}")
        upgrade_to_head(engine)
        cpu, wall = time.process_time(), time.perf_counter()
        report = ingest_paths(engine, [folder], workers=1)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        engine.dispose()
    return cpu, wall, report.inserted + report.updated


def cost_report(
    costs: Costs,
    articles: int,
    cached: bool,
    ingest: tuple[float, float, int] | None,
    out: io.StringIO,
) -> None:
    out.write("## Cost per article (CPU time of one process)\n\n")
    out.write("| step | total s | ms per article | share of parse + analyse |\n")
    out.write("|---|---:|---:|---:|\n")
    base = costs.parse + costs.analyse
    for name, seconds in (
        ("parse (app.ingest.parser)", costs.parse),
        ("analyse (app.search.analyzer.terms of title and body)", costs.analyse),
        ("describe (topics: category + signature)", costs.describe),
        ("assign (grouping over the stream)", costs.assign),
    ):
        share = f"{100 * seconds / base:.1f}%" if base else "-"
        out.write(f"| {name} | {seconds:.2f} | {1000 * seconds / articles:.3f} | {share} |\n")
    if cached:
        out.write("\n(parse and analyse timed on the run that filled the cache)\n")
    ours = costs.describe + costs.assign
    if ingest:
        cpu, wall, loaded = ingest
        out.write(
            f"\nThe ingest itself (`ingest_paths`, SQLite, one process, {loaded:,} articles): "
            f"{cpu:.1f} s CPU ({1000 * cpu / loaded:.3f} ms an article), {wall:.1f} s wall. "
            f"describe + assign add **{100 * ours / cpu:.1f}%** to its CPU time "
            f"({1000 * ours / articles:.3f} ms an article).\n"
        )
    else:
        out.write(
            f"\ndescribe + assign: {1000 * ours / articles:.3f} ms an article, "
            f"{100 * ours / base:.1f}% of parse + analyse alone (--ingest compares them "
            "with the whole ingest).\n"
        )
    out.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder of article files, or a .tar.xz")
    parser.add_argument("--out", type=Path, help="write the markdown here too")
    parser.add_argument("--cache", type=Path, help="pickle of the analysed articles")
    parser.add_argument("--errors", action="store_true", help="list the misjudged URLs")
    parser.add_argument(
        "--ingest", action="store_true", help="also time the real ingest (SQLite) for comparison"
    )
    args = parser.parse_args()
    costs = Costs()
    # First, while the analyzer's word cache is cold, as it is when an ingest starts.
    ingest = ingest_cost(args.corpus) if args.ingest else None
    analyzer._terms.clear()  # and cold again for load()'s own figures
    cached = bool(args.cache and args.cache.exists())
    if cached:
        with args.cache.open("rb") as handle:
            articles, costs = pickle.load(handle)  # noqa: S301 (our own file)
        costs.describe = costs.assign = 0.0
    else:
        articles = load(args.corpus, costs)
        if args.cache:
            with args.cache.open("wb") as handle:
                pickle.dump((articles, costs), handle)
    categories, stories, signatures = run(articles, costs)
    out = io.StringIO()
    out.write(f"# Stories and categories on {args.corpus.name}\n\n")
    out.write(
        f"{costs.files:,} files, {len(articles):,} articles (distinct URLs); "
        f"{len(set(stories.values())):,} stories; WINDOW {grouping.WINDOW}, "
        f"THRESHOLD {grouping.THRESHOLD}; run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.\n\n"
    )
    sizes = Counter(Counter(stories.values()).values())
    out.write(
        "Story sizes: "
        + ", ".join(f"{n} article(s): {sizes[n]}" for n in sorted(sizes)[:6])
        + f"; largest {max(sizes)}.\n\n"
    )
    mean_bytes = sum(len(s.encode()) for s in signatures.values()) / max(1, len(signatures))
    out.write(f"Signatures: {mean_bytes:.0f} bytes on average (UTF-8).\n\n")
    wrong_pairs = story_report(stories, out)
    wrong_categories = category_report(categories, out)
    cost_report(costs, len(articles), cached, ingest, out)
    if args.errors:
        out.write("## Misjudged\n\n")
        for pair in wrong_pairs:
            out.write(
                f"- pair {pair['same_story']} {pair['split']} sim {pair['similarity']}: "
                f"{pair['note']}\n  - {pair['url_a']}\n    `{signatures[pair['url_a']]}`\n"
                f"  - {pair['url_b']}\n    `{signatures[pair['url_b']]}`\n"
            )
        for row in wrong_categories:
            out.write(
                f"- category {row['category']} decided {categories[row['url']]} "
                f"({row['split']}): {row['note']} {row['url']}\n"
            )
    text = out.getvalue()
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
