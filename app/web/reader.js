// The reader page: search, filters, facets and articles from /api/v1; and a Stories view
// (the top stories of a period, by category, each opened to read its articles).
//
// Article data is only ever put into the page as text nodes (textContent, createTextNode).
// Highlights come from the server HTML-escaped with matches in <mark>…</mark>: they are
// split on those two literal tags and the rest is unescaped into text nodes, so no
// string from the API is ever parsed as HTML.

const API = "api/v1/";
const PAGE_SIZE = 20;
const FILTERS = ["q", "from", "to", "source", "author", "language", "sort"];
const LABELS = {
  q: "Search", from: "From", to: "To", source: "Source", author: "Author",
  language: "Language", sort: "Order", cursor: "Page",
};
const LANGUAGES = { ru: "Russian", en: "English", other: "Other" };
const CATEGORIES = {
  society: "Society", economy: "Economy", technology: "Technology", sports: "Sports",
  entertainment: "Entertainment", science: "Science", other: "Other",
};
const STORY_FILTERS = ["from", "to", "category"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY_MS = 86400000;

const $ = (id) => document.getElementById(id);
const form = $("search");

const state = {
  params: new URLSearchParams(), // the filters of the listing shown
  nextCursor: null,
  shown: 0,
  listing: null, // AbortController of the listing being loaded
  loadingMore: false,
  archive: null, // {first, last}: Dates of the oldest and newest article, from /sources
  view: "articles", // or "stories"
  storyParams: null, // the filters of the stories shown (null: none loaded yet)
  storyCursor: null,
  storyShown: 0,
  storyListing: null, // AbortController of the stories being loaded
  story: null, // the id of the open story
};

// ---------------------------------------------------------------- API

class ApiError extends Error {}

async function api(path, params, signal) {
  const query = params && params.toString();
  let response;
  try {
    response = await fetch(API + path + (query ? `?${query}` : ""), {
      signal, headers: { Accept: "application/json" },
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("The server could not be reached.");
  }
  if (response.ok) return response.json();
  let message = `The server answered ${response.status} ${response.statusText}.`;
  if ((response.headers.get("content-type") || "").includes("json")) {
    try {
      message = problemMessage(await response.json());
    } catch {
      // keep the status line
    }
  }
  throw new ApiError(message);
}

// An RFC 9457 problem as a sentence: each bad parameter by the label a person sees.
function problemMessage(problem) {
  if (Array.isArray(problem.errors) && problem.errors.length) {
    const reasons = problem.errors.map((e) => `${LABELS[e.name] || e.name}: ${e.reason}`);
    return `${problem.title}. ${reasons.join("; ")}`;
  }
  return [problem.title, problem.detail].filter(Boolean).join(". ");
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// ---------------------------------------------------------------- text

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeHtml(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
    if (name[0] !== "#") return ENTITIES[name.toLowerCase()] ?? whole;
    const hex = name[1] === "x" || name[1] === "X";
    const code = parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

// Append a server highlight (escaped text, matches in <mark>) to parent as DOM nodes.
function appendHighlighted(parent, highlighted) {
  let target = parent;
  for (const part of highlighted.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") {
      target = parent.appendChild(document.createElement("mark"));
    } else if (part === "</mark>") {
      target = parent;
    } else if (part) {
      target.appendChild(document.createTextNode(unescapeHtml(part)));
    }
  }
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child); // strings become text
  }
  return node;
}

// "2019-11-06T12:26:00+03:00" as the publisher's wall clock: "6 Nov 2019, 12:26".
function formatTimestamp(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
  return m ? `${Number(m[3])} ${MONTHS[m[2] - 1]} ${m[1]}, ${m[4]}:${m[5]}` : iso;
}

function timeElement(iso) {
  const offset = iso.slice(19).replace(/^\.\d+/, "");
  return el("time", { datetime: iso, title: `UTC${offset || "+00:00"}` }, formatTimestamp(iso));
}

function plural(count, one, many) {
  return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function langOf(article) {
  return article.language === "other" ? null : article.language;
}

// ---------------------------------------------------------------- the form and the URL

function formParams() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function fillForm(params) {
  for (const name of FILTERS) {
    const field = form.elements[name];
    const value = params.get(name) || "";
    if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) {
      field.append(el("option", { value }, value));
    }
    field.value = value;
  }
}

function listingUrl(params, article) {
  const query = new URLSearchParams(params);
  if (article) query.set("article", article);
  const text = query.toString();
  return text ? `?${text}` : location.pathname;
}

// ---------------------------------------------------------------- results

async function search(params) {
  state.listing?.abort();
  const listing = new AbortController();
  state.listing = listing;
  state.params = params;
  state.nextCursor = null;
  state.shown = 0;
  showError("");
  $("list").replaceChildren();
  $("more").hidden = true;
  $("summary").textContent = "Searching…";
  $("results").setAttribute("aria-busy", "true");
  loadFacets(params, listing.signal);
  try {
    const page = await api("articles", withLimit(params), listing.signal);
    renderPage(page, true);
  } catch (error) {
    if (error.name === "AbortError") return;
    $("summary").textContent = "";
    showError(error.message);
  } finally {
    if (state.listing === listing) $("results").removeAttribute("aria-busy");
  }
}

function withLimit(params, cursor) {
  const query = new URLSearchParams(params);
  query.set("limit", String(PAGE_SIZE));
  if (cursor) query.set("cursor", cursor);
  return query;
}

async function loadMore() {
  if (state.loadingMore || !state.nextCursor) return;
  state.loadingMore = true;
  const listing = state.listing;
  const more = $("more");
  more.disabled = true;
  more.textContent = "Loading…";
  let loaded = false;
  try {
    const page = await api("articles", withLimit(state.params, state.nextCursor), listing.signal);
    if (state.listing === listing) renderPage(page, false);
    loaded = true;
  } catch (error) {
    if (error.name !== "AbortError") showError(error.message);
  } finally {
    state.loadingMore = false;
    more.disabled = false;
    more.textContent = "More results";
  }
  // A tall window: keep filling it (but never retry a page that failed).
  if (loaded && state.listing === listing && !more.hidden && inView(more)) loadMore();
}

function renderPage(page, first) {
  const list = $("list");
  for (const item of page.items) list.append(resultItem(item));
  state.shown += page.items.length;
  state.nextCursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  const summary = $("summary");
  if (page.total === 0) {
    summary.textContent = "No articles match.";
  } else {
    summary.textContent = `${plural(page.total, "article", "articles")} · showing ${state.shown}`;
  }
  if (first) window.scrollTo(0, 0);
}

function resultItem(item) {
  const link = el("a", { href: listingUrl(state.params, item.id), "data-article": item.id });
  if (item.highlight) appendHighlighted(link, item.highlight.title);
  else link.textContent = item.title;
  const snippet = el("p", { class: "snippet" });
  if (item.highlight) appendHighlighted(snippet, item.highlight.snippet);
  else snippet.textContent = item.excerpt;
  return el(
    "li",
    { class: "result", lang: langOf(item) },
    el("h3", {}, link),
    metaLine(item),
    snippet,
  );
}

function metaLine(item) {
  const meta = el("p", { class: "meta" }, timeElement(item.published_at), " · ");
  meta.append(el("span", { class: "source", title: item.source.domain }, item.source.name));
  if (item.authors.length) {
    meta.append(" · ", el("span", { class: "authors" }, item.authors.map((a) => a.name).join(", ")));
  }
  return meta;
}

function inView(node) {
  const box = node.getBoundingClientRect();
  return box.top < window.innerHeight + 200 && box.bottom > 0;
}

// ---------------------------------------------------------------- facets

async function loadFacets(params, signal) {
  const query = new URLSearchParams(params);
  query.delete("sort");
  query.set("interval", chooseInterval(params));
  try {
    renderFacets(await api("articles/facets", query, signal), params);
  } catch (error) {
    if (error.name === "AbortError") return;
    for (const id of ["timeline", "facet-sources", "facet-authors", "facet-languages"]) {
      $(id).replaceChildren();
    }
  }
}

function chooseInterval(params) {
  const chosen = $("interval").value;
  if (chosen !== "auto") return chosen;
  const first = dateOf(params.get("from")) || state.archive?.first;
  const last = dateOf(params.get("to")) || state.archive?.last;
  if (!first || !last) return "month";
  const days = (last - first) / DAY_MS;
  if (days <= 62) return "day";
  if (days <= 366) return "week";
  if (days <= 366 * 10) return "month";
  return "year";
}

function dateOf(text) {
  const time = text ? Date.parse(text) : NaN;
  return Number.isNaN(time) ? null : new Date(time);
}

function renderFacets(facets, params) {
  renderTimeline(facets.published_at, params);
  const active = (name, value) => (params.get(name) || "").toLowerCase() === value.toLowerCase();
  facetList("facet-sources", facets.sources.map((s) => ({
    label: s.name, title: s.domain, count: s.count,
    pressed: active("source", s.domain) || active("source", s.name),
    apply: (on) => setFilter("source", on ? s.domain : ""),
  })));
  facetList("facet-authors", facets.authors.map((a) => ({
    label: a.name, count: a.count, pressed: active("author", a.name),
    apply: (on) => setFilter("author", on ? a.name : ""),
  })));
  facetList("facet-languages", facets.languages.map((l) => ({
    label: LANGUAGES[l.value] || l.value, count: l.count, pressed: active("language", l.value),
    apply: (on) => setFilter("language", on ? l.value : ""),
  })));
}

function facetList(id, entries) {
  const list = $(id);
  list.replaceChildren();
  if (!entries.length) list.append(el("li", { class: "empty" }, "—"));
  for (const entry of entries) {
    const button = el(
      "button",
      { type: "button", "aria-pressed": String(entry.pressed), title: entry.title },
      el("span", { class: "label" }, entry.label),
      el("span", { class: "count" }, entry.count.toLocaleString("en")),
    );
    button.addEventListener("click", () => entry.apply(!entry.pressed));
    list.append(el("li", {}, button));
  }
}

function setFilter(name, value) {
  const field = form.elements[name];
  if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) {
    field.append(el("option", { value }, value));
  }
  field.value = value;
  submit();
}

// Buckets oldest first over the dates asked for (or the whole archive), with the empty
// ones the API leaves out put back in, so that bars line up with time.
function fillBuckets(histogram, params) {
  const interval = histogram.interval;
  const buckets = histogram.buckets.map((b) => ({ start: new Date(b.start), count: b.count }));
  const first = dateOf(params.get("from")) || state.archive?.first;
  const last = dateOf(params.get("to")) || state.archive?.last;
  let start = first ? bucketStart(first, interval) : buckets[0]?.start;
  let end = last ? bucketStart(last, interval) : buckets.at(-1)?.start;
  if (!start || !end) return buckets;
  if (buckets.length && buckets[0].start < start) start = buckets[0].start;
  if (buckets.length && buckets.at(-1).start > end) end = buckets.at(-1).start;
  const filled = [];
  let index = 0;
  for (let at = start; at <= end; at = nextBucket(at, interval)) {
    if (filled.length > 1000) return buckets;
    if (index < buckets.length && buckets[index].start.getTime() === at.getTime()) {
      filled.push(buckets[index++]);
    } else {
      filled.push({ start: at, count: 0 });
    }
  }
  return filled;
}

// The UTC day, week (from Monday), month or year that date falls in.
function bucketStart(date, interval) {
  const start = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  if (interval === "week") start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7));
  else if (interval === "month") start.setUTCDate(1);
  else if (interval === "year") start.setUTCMonth(0, 1);
  return start;
}

function nextBucket(start, interval) {
  const next = new Date(start);
  if (interval === "day") next.setUTCDate(next.getUTCDate() + 1);
  else if (interval === "week") next.setUTCDate(next.getUTCDate() + 7);
  else if (interval === "month") next.setUTCMonth(next.getUTCMonth() + 1);
  else next.setUTCFullYear(next.getUTCFullYear() + 1);
  return next;
}

function bucketLabel(start, interval) {
  const day = `${start.getUTCDate()} ${MONTHS[start.getUTCMonth()]} ${start.getUTCFullYear()}`;
  if (interval === "day") return day;
  if (interval === "week") return `week of ${day}`;
  if (interval === "month") return `${MONTHS[start.getUTCMonth()]} ${start.getUTCFullYear()}`;
  return String(start.getUTCFullYear());
}

const isoDay = (date) => date.toISOString().slice(0, 10);

function renderTimeline(histogram, params) {
  const timeline = $("timeline");
  timeline.replaceChildren();
  const buckets = fillBuckets(histogram, params);
  if (!buckets.some((b) => b.count)) {
    timeline.append(el("p", { class: "empty" }, "No dates."));
    return;
  }
  const max = Math.max(...buckets.map((b) => b.count));
  const bars = el("div", { class: "bars" });
  for (const bucket of buckets) {
    const label = `${bucketLabel(bucket.start, histogram.interval)}: ${plural(bucket.count, "article", "articles")}`;
    const bar = el("button", { type: "button", class: "bar", title: label, "aria-label": label });
    bar.style.setProperty("--height", `${bucket.count ? Math.max(4, (100 * bucket.count) / max) : 0}%`);
    bar.disabled = bucket.count === 0;
    bar.addEventListener("click", () => {
      const end = new Date(nextBucket(bucket.start, histogram.interval).getTime() - DAY_MS);
      form.elements.from.value = isoDay(bucket.start);
      form.elements.to.value = isoDay(end);
      submit();
    });
    bars.append(bar);
  }
  const first = buckets[0].start;
  const last = buckets.at(-1).start;
  timeline.append(
    bars,
    el(
      "div",
      { class: "axis", "aria-hidden": "true" },
      el("span", {}, bucketLabel(first, histogram.interval)),
      el("span", {}, buckets.length > 1 ? bucketLabel(last, histogram.interval) : ""),
    ),
  );
}

// ---------------------------------------------------------------- the pickers

async function loadSources() {
  try {
    const sources = await api("sources");
    const select = form.elements.source;
    for (const s of sources.items) {
      select.append(el("option", { value: s.domain }, `${s.name} (${s.domain}) · ${s.article_count}`));
    }
    const firsts = sources.items.map((s) => s.first_published_at).filter(Boolean).map(Date.parse);
    const lasts = sources.items.map((s) => s.last_published_at).filter(Boolean).map(Date.parse);
    if (firsts.length) {
      state.archive = { first: new Date(Math.min(...firsts)), last: new Date(Math.max(...lasts)) };
    }
  } catch (error) {
    showError(error.message);
  }
}

let authorTimer = null;
let authorAbort = null;

function suggestAuthors() {
  clearTimeout(authorTimer);
  authorTimer = setTimeout(async () => {
    authorAbort?.abort();
    authorAbort = new AbortController();
    const query = new URLSearchParams({ limit: "20" });
    const typed = form.elements.author.value.trim();
    if (typed) query.set("q", typed);
    const source = form.elements.source.value;
    if (source) query.set("source", source);
    try {
      const authors = await api("authors", query, authorAbort.signal);
      $("author-names").replaceChildren(
        ...authors.items.map((a) => el("option", { value: a.name }, `${a.article_count}`)),
      );
    } catch {
      // suggestions are a convenience; the search itself reports errors
    }
  }, 150);
}

// ---------------------------------------------------------------- one article

let articleAbort = null;

async function openArticle(id, { push }) {
  articleAbort?.abort();
  articleAbort = new AbortController();
  if (push) history.pushState({ article: id }, "", viewUrl(id));
  showError("");
  try {
    renderArticle(await api(`articles/${encodeURIComponent(id)}`, null, articleAbort.signal));
  } catch (error) {
    if (error.name !== "AbortError") showError(error.message);
  }
}

function renderArticle(article) {
  $("article-title").textContent = article.title;
  const meta = metaLine(article);
  $("article-meta").replaceChildren(...meta.childNodes);
  const link = $("article-link");
  const href = safeUrl(article.url);
  link.textContent = `${article.source.name} (${article.source.domain})`;
  if (href) link.setAttribute("href", href);
  else link.removeAttribute("href");
  $("article-body").replaceChildren(...article.paragraphs.map((p) => el("p", {}, p)));
  const photo = $("article-photo");
  photo.textContent = article.photo_credit ? `Photo: ${article.photo_credit}` : "";
  photo.hidden = !article.photo_credit;
  const view = $("article");
  const lang = langOf(article);
  if (lang) view.setAttribute("lang", lang);
  else view.removeAttribute("lang");
  for (const id of ["results", "stories", "story"]) $(id).hidden = true;
  view.hidden = false;
  document.title = `${article.title} — News archive`;
  window.scrollTo(0, 0);
  view.focus({ preventScroll: true });
}

function closeArticle() {
  if (history.state && history.state.article) {
    history.back(); // popstate shows the list
    return;
  }
  history.replaceState(null, "", viewUrl());
  showList();
}

function showList() {
  articleAbort?.abort();
  $("article").hidden = true;
  const stories = state.view === "stories";
  $("results").hidden = stories;
  $("stories").hidden = !stories || state.story !== null;
  $("story").hidden = !stories || state.story === null;
  document.title = stories ? "Stories — News archive" : "News archive";
}

// The address of what is shown: the view, its filters, the open story and article.
function viewUrl(article) {
  if (state.view !== "stories") return listingUrl(state.params, article);
  const query = new URLSearchParams(state.storyParams || "");
  query.set("view", "stories");
  if (state.story !== null) query.set("story", state.story);
  if (article) query.set("article", article);
  return `?${query}`;
}

// ---------------------------------------------------------------- stories

function setView(view) {
  state.view = view;
  document.body.classList.toggle("stories-view", view === "stories");
  const [on, off] = view === "stories" ? ["view-stories", "view-articles"] : ["view-articles", "view-stories"];
  $(on).setAttribute("aria-current", "page");
  $(off).removeAttribute("aria-current");
}

function storyFormParams() {
  const params = new URLSearchParams();
  const storyForm = $("story-filters");
  for (const name of STORY_FILTERS) {
    const value = storyForm.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function loadStories(params) {
  state.storyListing?.abort();
  const listing = new AbortController();
  state.storyListing = listing;
  state.storyParams = params;
  state.storyCursor = null;
  state.storyShown = 0;
  showError("");
  $("story-list").replaceChildren();
  $("more-stories").hidden = true;
  $("stories-summary").textContent = "Loading…";
  try {
    renderStories(await api("stories", withLimit(params), listing.signal));
  } catch (error) {
    if (error.name === "AbortError") return;
    $("stories-summary").textContent = "";
    showError(error.message);
  }
}

async function moreStories() {
  const listing = state.storyListing;
  if (!state.storyCursor || !listing) return;
  try {
    const page = await api("stories", withLimit(state.storyParams, state.storyCursor), listing.signal);
    if (state.storyListing === listing) renderStories(page);
  } catch (error) {
    if (error.name !== "AbortError") showError(error.message);
  }
}

function renderStories(page) {
  const list = $("story-list");
  for (const story of page.items) list.append(storyItem(story));
  state.storyShown += page.items.length;
  state.storyCursor = page.next_cursor;
  $("more-stories").hidden = !page.next_cursor;
  $("stories-summary").textContent = page.total === 0
    ? "No stories match."
    : `${plural(page.total, "story", "stories")} · showing ${state.storyShown}`;
}

function storyMeta(story) {
  return el(
    "p",
    { class: "meta" },
    el("span", { class: "category" }, CATEGORIES[story.category] || story.category),
    ` · ${plural(story.article_count, "article", "articles")} · ${plural(story.source_count, "source", "sources")} · `,
    timeElement(story.first_published_at),
    story.last_published_at === story.first_published_at ? "" : " – ",
    story.last_published_at === story.first_published_at ? "" : timeElement(story.last_published_at),
  );
}

function storyItem(story) {
  const query = new URLSearchParams(state.storyParams || "");
  query.set("view", "stories");
  query.set("story", story.id);
  const link = el("a", { href: `?${query}`, "data-story": story.id }, story.title);
  const top = el("ul", { class: "top-articles" });
  for (const article of story.top_articles) {
    top.append(el("li", {}, `${article.source.name}: ${article.title}`));
  }
  return el("li", { class: "result story-item", lang: langOf(story) }, el("h3", {}, link), storyMeta(story), top);
}

let storyAbort = null;

async function openStory(id, { push }) {
  storyAbort?.abort();
  storyAbort = new AbortController();
  state.story = String(id);
  if (push) history.pushState({ story: state.story }, "", viewUrl());
  showError("");
  try {
    renderStory(await api(`stories/${encodeURIComponent(id)}`, null, storyAbort.signal));
  } catch (error) {
    if (error.name !== "AbortError") showError(error.message);
  }
}

function renderStory(story) {
  $("story-title").textContent = story.title;
  $("story-meta").replaceChildren(...storyMeta(story).childNodes);
  $("story-articles").replaceChildren(...story.articles.map((a) => {
    const link = el("a", { href: viewUrl(a.id), "data-article": a.id }, a.title);
    return el("li", { class: "result", lang: langOf(a) }, el("h3", {}, link), metaLine(a),
      el("p", { class: "snippet" }, a.excerpt));
  }));
  if ($("article").hidden) {
    showList();
    document.title = `${story.title} — News archive`;
    window.scrollTo(0, 0);
  }
}

function closeStory() {
  if (history.state && history.state.story) {
    history.back();
    return;
  }
  state.story = null;
  history.replaceState(null, "", viewUrl());
  showList();
}

// ---------------------------------------------------------------- wiring

function submit() {
  const params = formParams();
  history.replaceState(null, "", listingUrl(params));
  showList();
  search(params);
}

async function fromUrl() {
  const url = new URLSearchParams(location.search);
  if (url.get("view") === "stories") {
    storiesFromUrl(url);
    return;
  }
  setView("articles");
  state.story = null;
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = url.get(name);
    if (value) params.set(name, value);
  }
  const article = url.get("article");
  if (params.toString() !== state.params.toString() || !state.listing) {
    fillForm(params);
    search(params); // the URL's values as given: a bad one shows the API's message
  }
  if (article) openArticle(article, { push: false });
  else showList();
}

function storiesFromUrl(url) {
  setView("stories");
  const params = new URLSearchParams();
  const storyForm = $("story-filters");
  for (const name of STORY_FILTERS) {
    const value = url.get(name) || "";
    storyForm.elements[name].value = value;
    if (value) params.set(name, value);
  }
  if (state.storyParams === null || params.toString() !== state.storyParams.toString()) {
    loadStories(params);
  }
  const story = url.get("story");
  const article = url.get("article");
  state.story = story;
  if (story) openStory(story, { push: false });
  if (article) openArticle(article, { push: false });
  else showList();
}

function init() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  $("reset").addEventListener("click", () => {
    form.reset();
    submit();
  });
  $("interval").addEventListener("change", () => loadFacets(state.params, state.listing?.signal));
  form.elements.author.addEventListener("input", suggestAuthors);
  form.elements.author.addEventListener("focus", suggestAuthors);
  $("more").addEventListener("click", loadMore);
  $("back").addEventListener("click", closeArticle);
  $("story-back").addEventListener("click", closeStory);
  $("more-stories").addEventListener("click", moreStories);
  $("story-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.story = null;
    const params = storyFormParams();
    state.storyParams = params;
    history.replaceState(null, "", viewUrl());
    showList();
    loadStories(params);
  });
  for (const [id, view] of [["view-articles", "articles"], ["view-stories", "stories"]]) {
    $(id).addEventListener("click", (event) => {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      articleAbort?.abort();
      setView(view);
      if (view === "articles") {
        state.story = null;
        history.pushState(null, "", listingUrl(state.params));
        if (!state.listing) search(state.params);
      } else {
        state.story = null;
        history.pushState(null, "", viewUrl());
        if (state.storyParams === null) loadStories(new URLSearchParams());
      }
      showList();
    });
  }
  $("story-list").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-story]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    openStory(link.dataset.story, { push: true });
  });
  $("story-articles").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-article]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    openArticle(link.dataset.article, { push: true });
  });
  $("list").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-article]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    openArticle(link.dataset.article, { push: true });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!$("article").hidden) closeArticle();
    else if (!$("story").hidden) closeStory();
  });
  window.addEventListener("popstate", fromUrl);
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !$("more").hidden) loadMore();
  }, { rootMargin: "200px" }).observe($("more"));
  loadSources().then(fromUrl);
}

init();
