#!/usr/bin/env python
"""Draw the hand-judged evaluation sample of issue 12 (stories and categories) from the corpus.

    .venv/bin/python scripts/sample_labels.py draw [--corpus TAR] [--scratch DIR] [--seed 12]
    .venv/bin/python scripts/sample_labels.py assemble [--scratch DIR] [--data tests/data]
    .venv/bin/python scripts/sample_labels.py agreement [--scratch DIR]

`draw` reads the real corpus (../shared/corpus/tgnews2019_ru.tar.xz) and writes, under the
scratch directory (outside the repository: the files carry article text), the candidates
and the reading sheets a person judges:

* pair_candidates.tsv and pairs_NN.txt: article pairs published within 48 hours of each
  other, drawn by TF-IDF cosine bin (the stratum) and shown blind (no similarity, in a
  shuffled order), both articles' title and the start of their body;
* category_candidates.tsv and categories_NN.txt: a seeded uniform sample of articles, and
  category_pool.txt, the next articles of the same shuffled order (titles only), from which
  extra examples of rare categories are picked by reading;
* rejudge_pairs.txt and rejudge_categories.txt: a blind ~10% subset, in another order,
  for the second judgement.

The judge writes pairs_judged.tsv (pair_id, same_story, note), categories_judged.tsv
(item_id, category, is_news, sample, note; extras use item_id `extra:<file>`) and the
rejudge_*_judged.tsv files in the same layouts. `assemble` joins them with the candidates
into tests/data/story_pairs.tsv and tests/data/categories.tsv (URLs and labels only, never
text); `agreement` compares the two judgements of the rejudged subset.

Everything is deterministic: the same corpus and seed give the same candidates, in the same
order. The similarity is neutral on purpose (nothing the story algorithm uses beyond the
project's lemmas): cosine of TF-IDF vectors over app.search.analyzer.terms of title + body,
tf = 1 + ln(count), idf = ln(N / df), terms in more than 5% of the articles left out.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import hashlib
import heapq
import math
import random
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.ingest.parser import parse_article  # noqa: E402
from app.search.analyzer import terms  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "tgnews2019_ru.tar.xz"
SCRATCH = Path(tempfile.gettempdir()) / "labels" / "scratch"
DATA = ROOT / "tests" / "data"
SEED = 12

WINDOW = timedelta(hours=48)
MAX_DF_SHARE = 0.05  # terms in more articles than this are stop words for the similarity
MIN_BODY_CHARS = 100  # a pair needs bodies to be judged by reading
KEEP_PER_STRATUM = 4000  # lowest-priority pairs remembered per stratum while scanning
PAIRS_PER_ARTICLE = 2  # so a few big stories do not fill the sample
# (stratum, lower bound, upper bound, pairs wanted); the middle bins, where judging is
# hardest, get the most. "same_source" is drawn from same-domain pairs with cosine ≥ 0.15.
BINS: tuple[tuple[str, float, float, int], ...] = (
    ("0.9+", 0.9, 1.01, 30),
    ("0.7-0.9", 0.7, 0.9, 45),
    ("0.5-0.7", 0.5, 0.7, 80),
    ("0.3-0.5", 0.3, 0.5, 110),
    ("0.15-0.3", 0.15, 0.3, 95),
    ("0.05-0.15", 0.05, 0.15, 40),
)
SAME_SOURCE = ("same_source", 0.15, 0.9, 40)
CATEGORY_SAMPLE = 330
CATEGORY_POOL = 700
REJUDGE_SHARE = 10  # one item in REJUDGE_SHARE is judged twice
PAIRS_PER_SHEET = 10
ARTICLES_PER_SHEET = 20
PAIR_BODY_CHARS = 1000
CATEGORY_BODY_CHARS = 700
CATEGORIES = ("society", "economy", "technology", "sports", "entertainment", "science", "other")


@dataclass(frozen=True)
class Doc:
    file: str
    url: str
    domain: str
    published_at: datetime
    title: str
    body: str


def digest(*parts: str) -> int:
    """A stable 64-bit number for a key (Python's hash() is salted per process)."""
    raw = "\x1f".join(parts).encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def split_of(*key: str) -> str:
    return "dev" if digest("split", *key) % 2 == 0 else "test"


def rejudged(*key: str) -> bool:
    return digest("rejudge", *key) % REJUDGE_SHARE == 0


def read_corpus(path: Path) -> list[Doc]:
    docs: list[Doc] = []
    with tarfile.open(path, "r:xz") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None:
                continue
            article = parse_article(handle.read())
            docs.append(
                Doc(
                    file=member.name.rsplit("/", 1)[-1],
                    url=article.url,
                    domain=article.source_domain,
                    published_at=article.published_at,
                    title=article.title,
                    body=article.body,
                )
            )
    docs.sort(key=lambda d: (d.published_at, d.file))
    return docs


def unique_url_docs(docs: Sequence[Doc]) -> list[int]:
    """Indexes of the articles whose URL is in the corpus once: labels are keyed by URL."""
    counts = Counter(d.url for d in docs)
    return [i for i, d in enumerate(docs) if counts[d.url] == 1]


def tfidf(docs: Sequence[Doc]) -> list[dict[str, float]]:
    counts = [Counter(terms(d.title + "\n" + d.body)) for d in docs]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(docs)
    max_df = MAX_DF_SHARE * n
    vectors: list[dict[str, float]] = []
    for c in counts:
        vec = {t: (1 + math.log(k)) * math.log(n / df[t]) for t, k in c.items() if df[t] <= max_df}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        vectors.append({t: w / norm for t, w in vec.items()})
    return vectors


def time_groups(docs: Sequence[Doc]) -> list[range]:
    """Runs of time-sorted articles with no gap over WINDOW: no pair crosses two runs."""
    groups: list[range] = []
    start = 0
    for i in range(1, len(docs) + 1):
        if i == len(docs) or docs[i].published_at - docs[i - 1].published_at > WINDOW:
            groups.append(range(start, i))
            start = i
    return groups


@dataclass(frozen=True)
class Pair:
    a: int  # index into docs; docs[a].url < docs[b].url
    b: int
    similarity: float
    priority: int


def stratum_of(similarity: float) -> str | None:
    for name, low, high, _ in BINS:
        if low <= similarity < high:
            return name
    return None


def scan_pairs(
    docs: Sequence[Doc], vectors: Sequence[dict[str, float]], eligible: set[int], seed: int
) -> tuple[dict[str, list[Pair]], Counter[str], int]:
    """Every eligible pair within WINDOW with cosine ≥ the lowest bin, by inverted index.

    Returns per stratum the KEEP_PER_STRATUM pairs of lowest priority (a seeded hash of the
    two URLs, so a uniform draw within the stratum), the number of pairs per bin, and the
    number of eligible pairs in all (those below every bin included)."""
    low = min(b[1] for b in BINS)
    kept: dict[str, list[tuple[int, Pair]]] = defaultdict(list)
    population: Counter[str] = Counter()
    total = 0
    for group in time_groups(docs):
        members = [i for i in group if i in eligible]
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i in members:
            for t, w in vectors[i].items():
                postings[t].append((i, w))
        position = {t: {i: p for p, (i, _) in enumerate(lst)} for t, lst in postings.items()}
        times = [docs[i].published_at for i in members]
        for rank, i in enumerate(members):
            end = docs[i].published_at + WINDOW
            total += bisect.bisect_right(times, end) - rank - 1
            acc: dict[int, float] = defaultdict(float)
            for t, w in vectors[i].items():
                lst = postings[t]
                for j, wj in lst[position[t][i] + 1 :]:
                    acc[j] += w * wj
            for j, sim in acc.items():
                if sim < low or docs[j].published_at > end or docs[i].url == docs[j].url:
                    continue
                a, b = (i, j) if docs[i].url < docs[j].url else (j, i)
                pair = Pair(a, b, sim, digest(str(seed), docs[a].url, docs[b].url))
                name = stratum_of(sim)
                assert name is not None
                population[name] += 1
                _keep(kept[name], pair)
                if docs[i].domain == docs[j].domain and SAME_SOURCE[1] <= sim < SAME_SOURCE[2]:
                    population[SAME_SOURCE[0]] += 1
                    _keep(kept[SAME_SOURCE[0]], pair)
    best = {name: [p for _, p in sorted(heap, key=lambda e: -e[0])] for name, heap in kept.items()}
    return best, population, total


def _keep(heap: list[tuple[int, Pair]], pair: Pair) -> None:
    """Keep the lowest priorities: a max-heap by negated priority, bounded."""
    entry = (-pair.priority, pair)
    if len(heap) < KEEP_PER_STRATUM:
        heapq.heappush(heap, entry)
    elif entry[0] > heap[0][0]:
        heapq.heapreplace(heap, entry)


def select_pairs(best: dict[str, list[Pair]]) -> list[tuple[str, Pair]]:
    """Each stratum's wanted number, in priority order, no article in over PAIRS_PER_ARTICLE."""
    used: Counter[int] = Counter()
    taken: set[tuple[int, int]] = set()
    chosen: list[tuple[str, Pair]] = []
    for name, _, _, wanted in (*BINS, SAME_SOURCE):
        count = 0
        for pair in best.get(name, []):
            if count == wanted:
                break
            if (pair.a, pair.b) in taken or max(used[pair.a], used[pair.b]) >= PAIRS_PER_ARTICLE:
                continue
            chosen.append((name, pair))
            taken.add((pair.a, pair.b))
            used.update((pair.a, pair.b))
            count += 1
    return chosen


def bin_label(similarity: float) -> str:
    return stratum_of(similarity) or "<0.05"


def show(doc: Doc, limit: int) -> str:
    body = " ".join(doc.body.split("\n\n"))
    more = f" [+{len(body) - limit} chars]" if len(body) > limit else ""
    return (
        f"  {doc.file} | {doc.domain} | {doc.published_at:%Y-%m-%d %H:%M}\n"
        f"  T: {doc.title}\n  B: {body[:limit]}{more}\n"
    )


def write_tsv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def sheets(scratch: Path, stem: str, blocks: Sequence[str], per_sheet: int) -> None:
    for old in scratch.glob(f"{stem}_*.txt"):
        old.unlink()
    for n, start in enumerate(range(0, len(blocks), per_sheet), 1):
        (scratch / f"{stem}_{n:02d}.txt").write_text("\n".join(blocks[start : start + per_sheet]))


def draw(corpus: Path, scratch: Path, seed: int) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    docs = read_corpus(corpus)
    unique = unique_url_docs(docs)
    print(f"{len(docs)} articles, {len(unique)} with a URL of their own", file=sys.stderr)

    vectors = tfidf(docs)
    eligible = {i for i in unique if len(docs[i].body) >= MIN_BODY_CHARS}
    best, population, total = scan_pairs(docs, vectors, eligible, seed)
    chosen = select_pairs(best)
    chosen.sort(key=lambda e: digest(str(seed), "order", docs[e[1].a].url, docs[e[1].b].url))
    pair_rows: list[list[object]] = []
    blocks: list[str] = []
    rejudge: list[tuple[int, str]] = []
    for n, (name, pair) in enumerate(chosen, 1):
        pid = f"p{n:03d}"
        a, b = docs[pair.a], docs[pair.b]
        sim = f"{pair.similarity:.3f}"
        split = split_of(a.url, b.url)
        pair_rows.append([pid, a.url, b.url, a.file, b.file, sim, bin_label(pair.similarity)])
        pair_rows[-1] += [name, split]
        block = f"== {pid}\n{show(a, PAIR_BODY_CHARS)}{show(b, PAIR_BODY_CHARS)}"
        blocks.append(block)
        if rejudged(a.url, b.url):
            rejudge.append((digest(str(seed), "rejudge-order", pid), block))
    header = ["pair_id", "url_a", "url_b", "file_a", "file_b", "similarity", "similarity_bin"]
    write_tsv(scratch / "pair_candidates.tsv", [*header, "stratum", "split"], pair_rows)
    sheets(scratch, "pairs", blocks, PAIRS_PER_SHEET)
    (scratch / "rejudge_pairs.txt").write_text("\n".join(b for _, b in sorted(rejudge)))
    population_rows = [[name, population[name]] for name, *_ in (*BINS, SAME_SOURCE)]
    population_rows.append(["<0.05", total - sum(population[name] for name, *_ in BINS)])
    population_rows.append(["all", total])
    write_tsv(scratch / "pair_population.tsv", ["stratum", "pairs"], population_rows)

    order = sorted(unique, key=lambda i: docs[i].file)
    random.Random(seed).shuffle(order)  # noqa: S311 (a reproducible sample, not a secret)
    cat_rows: list[list[object]] = []
    cat_blocks: list[str] = []
    cat_rejudge: list[tuple[int, str]] = []
    for n, i in enumerate(order[:CATEGORY_SAMPLE], 1):
        doc = docs[i]
        cid = f"c{n:03d}"
        cat_rows.append([cid, doc.url, doc.file, split_of(doc.url)])
        block = f"== {cid}\n  {doc.url}\n{show(doc, CATEGORY_BODY_CHARS)}"
        cat_blocks.append(block)
        if rejudged(doc.url):
            cat_rejudge.append((digest(str(seed), "rejudge-order", cid), block))
    write_tsv(scratch / "category_candidates.tsv", ["item_id", "url", "file", "split"], cat_rows)
    sheets(scratch, "categories", cat_blocks, ARTICLES_PER_SHEET)
    (scratch / "rejudge_categories.txt").write_text("\n".join(b for _, b in sorted(cat_rejudge)))
    pool = order[CATEGORY_SAMPLE : CATEGORY_SAMPLE + CATEGORY_POOL]
    pool_rows = [[docs[i].file, docs[i].url, split_of(docs[i].url)] for i in pool]
    write_tsv(scratch / "category_pool.tsv", ["file", "url", "split"], pool_rows)
    titles = (f"{docs[i].file} | {docs[i].domain} | {docs[i].title}" for i in pool)
    (scratch / "category_pool.txt").write_text("\n".join(titles) + "\n")

    print(f"pairs within {WINDOW}: {total}; per stratum: {dict(population)}", file=sys.stderr)
    print(f"{len(chosen)} pairs, {len(cat_rows)} articles -> {scratch}", file=sys.stderr)


def assemble(scratch: Path, data: Path) -> None:
    """tests/data/*.tsv from the candidates and the first judgements (URLs and labels only)."""
    data.mkdir(parents=True, exist_ok=True)
    candidates = {r["pair_id"]: r for r in read_tsv(scratch / "pair_candidates.tsv")}
    rows: list[list[object]] = []
    for judged in read_tsv(scratch / "pairs_judged.tsv"):
        c = candidates[judged["pair_id"]]
        assert judged["same_story"] in ("0", "1"), judged
        rows.append([c["url_a"], c["url_b"], judged["same_story"], c["similarity_bin"]])
        rows[-1] += [c["split"], c["similarity"], c["stratum"], judged["note"]]
    header = ["url_a", "url_b", "same_story", "similarity_bin", "split", "similarity"]
    write_tsv(data / "story_pairs.tsv", [*header, "stratum", "note"], rows)

    items = {r["item_id"]: r for r in read_tsv(scratch / "category_candidates.tsv")}
    pool = {r["file"]: r for r in read_tsv(scratch / "category_pool.tsv")}
    cat_rows: list[list[object]] = []
    for judged in read_tsv(scratch / "categories_judged.tsv"):
        key = judged["item_id"]
        item = pool[key.removeprefix("extra:")] if key.startswith("extra:") else items[key]
        assert judged["category"] in CATEGORIES and judged["is_news"] in ("0", "1"), judged
        assert judged["sample"] == ("extra" if key.startswith("extra:") else "random"), judged
        cat_rows.append([item["url"], judged["category"], judged["is_news"], item["split"]])
        cat_rows[-1] += [judged["sample"], judged["note"]]
    header = ["url", "category", "is_news", "split", "sample", "note"]
    write_tsv(data / "categories.tsv", header, cat_rows)
    print(f"{len(rows)} pairs, {len(cat_rows)} articles -> {data}", file=sys.stderr)


def agreement(scratch: Path) -> None:
    """How often the blind second judgement matches the first, per field."""
    first = {r["pair_id"]: r for r in read_tsv(scratch / "pairs_judged.tsv")}
    second = read_tsv(scratch / "rejudge_pairs_judged.tsv")
    same = [r for r in second if first[r["pair_id"]]["same_story"] == r["same_story"]]
    print(f"pairs: {len(same)}/{len(second)} same_story agree")
    for r in second:
        if r not in same:
            was = first[r["pair_id"]]["same_story"]
            print(f"  {r['pair_id']}: first {was}, second {r['same_story']} ({r['note']})")
    cats = {r["item_id"]: r for r in read_tsv(scratch / "categories_judged.tsv")}
    again = read_tsv(scratch / "rejudge_categories_judged.tsv")
    for field in ("category", "is_news"):
        agree = sum(cats[r["item_id"]][field] == r[field] for r in again)
        print(f"articles: {agree}/{len(again)} {field} agree")
    for r in again:
        before = cats[r["item_id"]]
        if (before["category"], before["is_news"]) != (r["category"], r["is_news"]):
            print(f"  {r['item_id']}: first {before['category']}/{before['is_news']}, ", end="")
            print(f"second {r['category']}/{r['is_news']} ({r['note']})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", choices=("draw", "assemble", "agreement"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--scratch", type=Path, default=SCRATCH)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.command == "draw":
        draw(args.corpus, args.scratch, args.seed)
    elif args.command == "assemble":
        assemble(args.scratch, args.data)
    else:
        agreement(args.scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
