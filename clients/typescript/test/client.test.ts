/**
 * The client against a live server (started by tests/test_typescript_client.py):
 * API_BASE is the server; it holds ARTICLES articles by AUTHORS authors, one of them
 * about SEARCH_WORD; LIMITED_KEY is a key allowed 3 requests an hour.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { type ArticleListItem, NewsArchive, ProblemError } from "../src/index.js";

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run these tests through tests/test_typescript_client.py`);
  return value;
}

const base = env("API_BASE");
const articleCount = Number(env("ARTICLES"));
const api = new NewsArchive({ baseUrl: `${base}/` });

async function thrown(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProblemError, `not a ProblemError: ${String(error)}`);
    return error;
  }
  assert.fail("no error was thrown");
}

test("a page of articles, typed", async () => {
  const page = await api.listArticles({ limit: 5, sort: "published_at" });
  assert.equal(page.total, articleCount);
  assert.equal(page.items.length, 5);
  assert.ok(page.next_cursor);
  const dates = page.items.map((item) => Date.parse(item.published_at ?? ""));
  assert.deepEqual(dates, [...dates].sort((a, b) => a - b));
});

test("iterating follows the cursors to the end", async () => {
  const seen: ArticleListItem[] = [];
  for await (const article of api.articles({ limit: 7 })) {
    seen.push(article);
  }
  assert.equal(seen.length, articleCount);
  assert.equal(new Set(seen.map((a) => a.id)).size, articleCount);
});

test("filters and search", async () => {
  const found = await api.listArticles({ q: env("SEARCH_WORD") });
  assert.equal(found.total, 1);
  assert.match(found.items[0]?.highlight?.title ?? "", /<mark>/);
  const byAuthor = await api.listArticles({ author: [env("AUTHOR")], fields: "id,authors" });
  assert.ok(byAuthor.total > 0);
  for (const item of byAuthor.items) {
    assert.ok(item.authors?.some((a) => a.name === env("AUTHOR")));
    assert.equal(item.title, undefined); // trimmed by fields
  }
  const facets = await api.facets({ interval: "year" });
  assert.equal(facets.total, articleCount);
});

test("one article, sources and authors", async () => {
  const [first] = (await api.listArticles({ limit: 1 })).items;
  assert.ok(first?.id);
  const article = await api.getArticle(first.id);
  assert.equal(article.id, first.id);
  assert.ok((article.paragraphs ?? []).length > 0);
  const sources = await api.listSources();
  assert.ok(sources.length > 0);
  const source = await api.getSource(sources[0]?.id ?? 0);
  assert.equal(source.name, sources[0]?.name);
  const authors = [];
  for await (const author of api.authors({ limit: 2 })) {
    authors.push(author);
  }
  assert.equal(authors.length, Number(env("AUTHORS")));
  const health = await api.health();
  assert.equal(health.status, "ok");
  assert.equal(health.database, "ok");
  assert.equal(health.databases?.[0]?.name, "primary");
});

test("problems are typed errors", async () => {
  const missing = await thrown(api.getArticle(2_000_000_000));
  assert.equal(missing.status, 404);
  assert.equal(missing.type, "/problems/not-found");
  const invalid = await thrown(api.listArticles({ limit: 0 }));
  assert.equal(invalid.status, 400);
  assert.equal(invalid.type, "/problems/invalid-parameters");
  assert.deepEqual(
    invalid.errors.map((e) => e.name),
    ["limit"],
  );
  const gone = await thrown(api.changes("0000000000000000.1"));
  assert.equal(gone.status, 410);
});

test("the changes feed replays the archive", async () => {
  const mirror = new Map<number, unknown>();
  let next = "";
  for await (const page of api.changePages("", 10)) {
    for (const change of page.items) {
      if (change.deleted) {
        mirror.delete(change.id);
      } else {
        mirror.set(change.id, change.article);
      }
    }
    next = page.next;
  }
  assert.equal(mirror.size, articleCount);
  const after = await api.changes(next);
  assert.deepEqual(after, { items: [], next, has_more: false });
});

test("keys and rate limits", async () => {
  const limited = new NewsArchive({ baseUrl: base, apiKey: env("LIMITED_KEY") });
  for (let i = 0; i < 3; i += 1) {
    await limited.listSources();
  }
  const tooMany = await thrown(limited.listSources());
  assert.equal(tooMany.status, 429);
  assert.equal(tooMany.type, "/problems/too-many-requests");
  assert.ok((tooMany.retryAfter ?? 0) > 0);
  assert.match(tooMany.response.headers.get("RateLimit") ?? "", /"key";r=0;t=\d+/);
  const unknown = new NewsArchive({ baseUrl: base, apiKey: "nak_not-a-key" });
  const refused = await thrown(unknown.listSources());
  assert.equal(refused.status, 401);
});
