"""Categories and stories: what an article is about and which event it reports.

- app.stories.topics: pure, per article, run in the ingest's worker processes: its
  category (one of CATEGORIES) and its signature (the distinctive terms that stories and
  similar articles compare).
- app.stories.grouping: pure, over a date-ordered stream of articles: which story each
  article without one joins (an existing story within WINDOW, or a new one of its own).
"""
