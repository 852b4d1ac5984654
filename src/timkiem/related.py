"""Related articles: a more-like-this query built from one article's own terms.

The stored article's title and body are analysed again as the index analysed
them; its most telling folded syllables and syllable pairs (frequency in the
article, the title counting ``ranking.title`` times, by BM25's idf from the
snapshot's document frequencies) become the scored terms of a
:class:`~timkiem.engine.executor.QueryPlan`, scored by the ranking's BM25F,
a pair weighing as a query's pairs do. The engine runs it like a search (same executor, same
snapshot, so as fast and as fresh), and the article itself and its
near-duplicates (the same story re-posted under the same or an almost
identical title) are left out of the hits.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from timkiem.analysis import folded_syllables, syllable_pairs
from timkiem.config import Settings
from timkiem.engine.executor import Filters, Key, Lookup, QueryPlan, execute
from timkiem.engine.snapshot import Snapshot
from timkiem.errors import ArticleNotFound, InvalidParameter
from timkiem.ranking import Ranking, bm25_params
from timkiem.request import SearchRequest, validate
from timkiem.results import summary
from timkiem.schema import TEXT_FIELDS, folded_field, pair_field

DEFAULT_LIMIT = 5
MAX_LIMIT = 50
MAX_WORDS = 40
"""Folded syllables of the article that score (the most telling first)."""
MAX_PAIRS = 40
"""Folded syllable pairs of the article that score."""
MAX_SHARE = 0.02
"""Terms in a larger share of the articles (2%) say too little to score (and cost
the most: the longest posting lists)."""
MIN_COMMON = 1000
"""...unless in fewer articles than this (a small index)."""
MAX_TEXT = 20_000
"""Characters of a body analysed: a long article's telling words come early."""
SAME_TITLE = 0.9
"""Similarity of folded title syllables (difflib ratio) from which two titles
are almost identical."""
SAME_BODY = 0.7
"""Overlap of folded body syllables (Jaccard) from which two articles under
almost identical titles are the same story."""


@dataclass(frozen=True)
class RelatedRequest:
    """Related articles of one article, as the API and the CLI ask for them."""

    article_id: str
    limit: int = DEFAULT_LIMIT
    date_from: str | None = None
    date_to: str | None = None
    category: str | tuple[str, ...] | None = None


@dataclass(frozen=True)
class ValidRelated:
    """A checked request: the date range as timestamps, the categories checked."""

    request: RelatedRequest
    start: int | None
    end: int | None
    categories: tuple[str, ...] = ()

    def key(self) -> tuple[object, ...]:
        """Equal for requests that give the same results (never a search's key)."""
        r = self.request
        return ("related", r.article_id, r.limit, self.start, self.end, self.categories)


def validate_related(request: RelatedRequest, settings: Settings) -> ValidRelated:
    """Check every parameter; ``InvalidParameter`` names the bad one."""
    if not 1 <= request.limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be between 1 and {MAX_LIMIT}")
    # The date range and category are a search's: checked the same way.
    dates = SearchRequest(
        date_from=request.date_from, date_to=request.date_to, category=request.category
    )
    valid = validate(dates, settings)
    return ValidRelated(request, valid.start, valid.end, valid.categories)


@dataclass(frozen=True)
class Profile:
    """What an article says: its folded title syllables and the set of its body's."""

    title: list[str]
    body: frozenset[str]


def profile(record: dict[str, Any]) -> tuple[Profile, list[str]]:
    """A stored ``record``'s profile, and its body's folded syllables."""
    title = folded_syllables(record.get("title") or "")
    body = folded_syllables((record.get("body") or "")[:MAX_TEXT])
    return Profile(title, frozenset(body)), body


def term_counts(title: list[str], body: list[str], ranking: Ranking) -> dict[Key, float]:
    """Each folded syllable and pair of an article with its frequency, a title
    occurrence counting ``ranking.title``: keyed by the title's field."""
    counts: dict[Key, float] = {}
    for syllables, weight in ((title, ranking.title), (body, ranking.body)):
        for kind, terms in ((folded_field, syllables), (pair_field, syllable_pairs(syllables))):
            field = kind("title")
            for text in terms:
                counts[(field, text)] = counts.get((field, text), 0.0) + weight
    return counts


def telling_terms(
    snap: Snapshot, counts: dict[Key, float]
) -> tuple[list[tuple[Key, float]], Lookup]:
    """The ``MAX_WORDS`` syllables and ``MAX_PAIRS`` pairs of ``counts`` with the
    highest frequency x idf (document frequency in the title or body, the
    higher), with their frequency; those no other article holds match nothing
    and are left out. And where every term of the article is, in title and body."""
    keys = list(counts)
    body_keys = [(field.replace("title", "body", 1), text) for field, text in keys]
    lookup = Lookup(snap, keys + body_keys)
    n = len(keys)
    in_title, in_body = lookup.df[:n], lookup.df[n:]
    size = max(snap.size, 1)
    common = max(MIN_COMMON, MAX_SHARE * size)
    ranked: dict[str, list[tuple[float, Key]]] = {}
    for number, key in enumerate(keys):
        df_title, df_body = int(in_title[number]), int(in_body[number])
        if df_title + df_body <= 1:
            continue
        df = max(df_title, df_body)
        if df > common:
            continue
        idf = math.log(1 + (size - df + 0.5) / (df + 0.5))
        ranked.setdefault(key[0], []).append((counts[key] * idf, key))
    found: list[tuple[Key, float]] = []
    for field, limit in ((folded_field("title"), MAX_WORDS), (pair_field("title"), MAX_PAIRS)):
        best = sorted(ranked.get(field, []), key=lambda item: (-item[0], item[1]))[:limit]
        found.extend((key, counts[key]) for _, key in best)
    return found, lookup


def build_related_plan(
    snap: Snapshot, counts: dict[Key, float], ranking: Ranking
) -> tuple[QueryPlan, Lookup]:
    """The more-like-this plan of an article: its telling syllables and pairs,
    a pair weighing ``ranking.bigram`` as a query's pairs do, each the more the
    more often the article says it. A term scores alike in the title and the
    body: the title's weight is already in the article's counts (scoring it
    again in other titles ranks worse on ``scripts/evaluate.py``'s vmds set).
    With the lookup of its terms, for the executor."""
    pairs = pair_field("title")
    scored: list[tuple[str, str, float]] = []
    terms, lookup = telling_terms(snap, counts)
    for (field, text), count in terms:
        boost = (ranking.bigram if field == pairs else 1.0) * (1 + math.log(count))
        for name in TEXT_FIELDS:
            scored.append((field.replace("title", name, 1), text, boost))
    plan = QueryPlan(
        scored=tuple(scored),
        match_any=tuple((f, t) for f, t, _ in scored),
        params=bm25_params(ranking),
    )
    return plan, lookup


def near_duplicate(one: Profile, other: Profile) -> bool:
    """Whether two articles are the same story re-posted: the same title (folded),
    or an almost identical one over much the same body."""
    if one.title == other.title:
        return True
    if not one.title or not other.title:
        return False
    titles = difflib.SequenceMatcher(None, one.title, other.title)
    if any(r() < SAME_TITLE for r in (titles.real_quick_ratio, titles.quick_ratio, titles.ratio)):
        return False
    union = one.body | other.body
    return not union or len(one.body & other.body) / len(union) >= SAME_BODY


def related(
    snap: Snapshot, valid: ValidRelated, ranking: Ranking, time_limit: float
) -> dict[str, Any]:
    """The response body: the ``limit`` articles most like the requested one,
    best first, none a near-duplicate of it or of a better one."""
    request = valid.request
    with snap.lock:
        docnum = snap.searcher.document_number(id=request.article_id)
    if docnum is None:
        raise ArticleNotFound(request.article_id)
    own, body = profile(snap.record(docnum))
    plan, lookup = build_related_plan(snap, term_counts(own.title, body, ranking), ranking)
    filters = Filters(valid.start, valid.end, valid.categories)
    hits: list[dict[str, Any]] = []
    kept = [own]
    seen = {docnum}
    partial = False
    window = 2 * request.limit + 5  # room for the article itself and a few duplicates
    while plan.scored:
        outcome = execute(
            snap,
            plan,
            filters,
            relevance=True,
            newest=True,
            window=window,
            time_limit=time_limit,
            lookup=lookup,
        )
        partial = outcome.partial
        for doc, score in outcome.ranked:
            if doc in seen or len(hits) == request.limit:
                continue
            seen.add(doc)
            record = snap.record(doc)
            other, _ = profile(record)
            if any(near_duplicate(other, one) for one in kept):
                continue
            kept.append(other)
            hits.append(summary(record, score))
        if len(hits) == request.limit or window >= len(outcome.members):
            break
        window *= 4
    response: dict[str, Any] = {"id": request.article_id, "hits": hits}
    if partial:
        response["partial"] = True
    return response
