"""Ranking quality: Recall@10 and MRR@10 of relevance sets in several query forms.

Each set's passages go into a fresh temporary index built by timkiem's own
``Indexer``; each query runs through ``SearchEngine.search`` exactly as the HTTP
API calls it (first page, 10 hits, result cache off), and each figure is judged
against its target. ``scripts/evaluate.py`` is its command line.
"""

from __future__ import annotations

import json
import math
import random
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from unidecode import unidecode

from timkiem.analysis import syllables
from timkiem.config import Settings
from timkiem.errors import InvalidParameter
from timkiem.indexer import Indexer
from timkiem.ranking import RANKING, Ranking
from timkiem.related import RelatedRequest
from timkiem.search import SearchEngine, SearchRequest
from timkiem.testing import corpus_dir, read_jsonl_gz

DEFAULT_CORPUS = corpus_dir()
K = 10
MEDIAN_MS_TARGET = 5.0  # in-process p50 target of the speed work (issue 4)

# -- query forms -------------------------------------------------------------

_WORD_CHARS = r"[^\W_]"


def _toned(base: str, like: str) -> str:
    """``base`` carrying the tone mark of ``like`` (case of ``base`` kept)."""
    marks = "".join(c for c in unicodedata.normalize("NFD", like) if unicodedata.combining(c))
    return unicodedata.normalize("NFC", base + marks)


def _plain(char: str) -> str:
    return unicodedata.normalize("NFD", char)[0]


# An open "oa"/"oe"/"uy" at the end of a syllable, tone on either vowel ("q"
# excluded: in "quý" the "u" belongs to the consonant).
_SWAP = re.compile(
    r"(?<![qQ])(?:([oO])([àáảãạèéẻẽẹÀÁẢÃẠÈÉẺẼẸ])|([òóỏõọÒÓỎÕỌ])([aeAE])"
    r"|([uU])([ỳýỷỹỵỲÝỶỸỴ])|([ùúủũụÙÚỦŨỤ])([yY]))"
    rf"(?!{_WORD_CHARS})"
)


def _swap_one(match: re.Match[str]) -> str:
    groups = match.groups()
    for i in (0, 2, 4, 6):
        first, second = groups[i], groups[i + 1]
        if first is None:
            continue
        if i in (0, 4):  # old placement -> new: "hoà" -> "hòa"
            return _toned(first, second) + _plain(second)
        return _plain(first) + _toned(second, first)  # new -> old: "hòa" -> "hoà"
    return match.group(0)


def swap_tones(text: str) -> str:
    """Old tone placement becomes new and new becomes old ("hòa" <-> "hoà")."""
    return _SWAP.sub(_swap_one, unicodedata.normalize("NFC", text))


def strip_accents(text: str) -> str:
    """What a visitor without a Vietnamese keyboard types: unidecode on letters, đ -> d.

    Only letters are transliterated, so that punctuation such as curly quotes
    keeps its meaning (unidecode would turn them into query-syntax quotes).
    """
    return "".join(unidecode(c) if c.isalpha() else c for c in unicodedata.normalize("NFC", text))


FORMS: dict[str, Callable[[str], str]] = {
    "accented": lambda q: q,
    "unaccented": strip_accents,
    "nfd": lambda q: unicodedata.normalize("NFD", q),
    "tone-swapped": swap_tones,
    "upper": str.upper,
}
SAME_AS_ACCENTED = ("nfd", "tone-swapped", "upper")

# -- sets and targets ----------------------------------------------------------


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Target:
    """Minimum Recall@10 and MRR@10 in percent; ``strict`` means "above"."""

    recall: float | None
    mrr: float | None
    strict: bool = False

    def met(self, recall: float, mrr: float) -> bool:
        def ok(value: float, floor: float | None) -> bool:
            if floor is None:
                return True
            return value > floor if self.strict else value >= floor - 1e-9

        return ok(recall, self.recall) and ok(mrr, self.mrr)


@dataclass(frozen=True)
class EvalSet:
    name: str
    docs: Path
    queries: list[Query]
    target: Target  # for the accented form
    note: str = ""


RELEVANCE_SETS: dict[str, tuple[str, str, str, Target]] = {
    # key: (name, passages file, queries file, accented target)
    "vimedaqa": (
        "ViMedAQA_v2",
        "ViMedAQA_v2-passages.jsonl.gz",
        "ViMedAQA_v2-queries.jsonl.gz",
        Target(92.0, 82.0),
    ),
    "alqac": ("ALQAC", "ALQAC-passages.jsonl.gz", "ALQAC-queries.jsonl.gz", Target(98.0, 93.0)),
    "vire4mrc": (
        "ViRe4MRC_v2",
        "ViRe4MRC_v2-passages.jsonl.gz",
        "ViRe4MRC_v2-queries.jsonl.gz",
        Target(20.4, 10.25, strict=True),
    ),
    "vmds": ("vmds", "vmds-docs.jsonl.gz", "vmds-queries.jsonl", Target(None, None)),
}
KNOWN_ITEM = "known-item"
KNOWN_ITEM_TARGET = Target(98.0, 90.0)
QUESTIONS = "news-questions"
# the ranking issue's target for held-out reader questions over long titled articles
QUESTIONS_TARGET = Target(88.0, 75.0)
ALL_SETS = (*RELEVANCE_SETS, KNOWN_ITEM, QUESTIONS)
UNACCENTED_MAX_LOSS = 3.0


def load_relevance_set(corpus: Path, key: str, limit: int | None = None) -> EvalSet:
    """One question -> passage set of ``corpus/relevance``."""
    name, docs, queries, target = RELEVANCE_SETS[key]
    folder = corpus / "relevance"
    loaded = [
        Query(str(q["qid"]), str(q["query"]), frozenset(map(str, q["relevant_ids"])))
        for q in read_jsonl_gz(folder / queries)
    ]
    return EvalSet(name, folder / docs, loaded[:limit] if limit else loaded, target)


_SYLLABLE = re.compile(r"[^\W_]+")


def _syllables(text: str) -> list[str]:
    return _SYLLABLE.findall(unicodedata.normalize("NFC", text))


def _key(syllables: Iterable[str]) -> str:
    return " " + " ".join(strip_accents(s).lower() for s in syllables) + " "


def draw_articles(corpus: Path, pool: int, seed: int) -> tuple[list[dict[str, Any]], random.Random]:
    """``pool`` full articles with distinct titles from news-fulltext-2017,
    drawn with a fixed ``seed``; and the generator, to draw queries on."""
    rng = random.Random(seed)
    articles = [
        a
        for a in read_jsonl_gz(corpus / "news-fulltext-2017.jsonl.gz")
        if a.get("title") and a.get("body")
    ]
    rng.shuffle(articles)
    chosen: list[dict[str, Any]] = []
    seen_titles: set[str] = set()
    for article in articles:
        title_key = _key(_syllables(article["title"]))
        if title_key in seen_titles:
            continue
        seen_titles.add(title_key)
        chosen.append(article)
        if len(chosen) >= pool:
            break
    return chosen, rng


def _write_pool(chosen: list[dict[str, Any]], docs: Path) -> Path:
    with docs.open("w", encoding="utf-8") as out:
        for article in chosen:
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
    return docs


def build_known_item_set(corpus: Path, workdir: Path, pool: int, items: int, seed: int) -> EvalSet:
    """Articles sought by a 3-6 syllable span of their own title.

    A pool of ``pool`` full articles with distinct titles is drawn from
    news-fulltext-2017 (fixed ``seed``) and written to ``workdir``; ``items`` of
    them get a query: a random span of their title that, without accents, occurs
    in no other title of the pool (so exactly one article is the right answer).
    """
    chosen, rng = draw_articles(corpus, pool, seed)
    docs = _write_pool(chosen, workdir / "known-item-pool.jsonl")
    titles = [_key(_syllables(a["title"])) for a in chosen]
    everything = "\n".join(titles)
    queries: list[Query] = []
    for index in rng.sample(range(len(chosen)), len(chosen)):
        if len(queries) >= items:
            break
        words = _syllables(chosen[index]["title"])
        if len(words) < 3:
            continue
        for _ in range(10):
            length = rng.randint(3, min(6, len(words)))
            start = rng.randint(0, len(words) - length)
            span = words[start : start + length]
            if everything.count(_key(span)) == 1:
                queries.append(
                    Query(
                        str(chosen[index]["id"]),
                        " ".join(span),
                        frozenset({str(chosen[index]["id"])}),
                    )
                )
                break
    note = f"{len(chosen)} articles, seed {seed}"
    return EvalSet(KNOWN_ITEM, docs, queries, KNOWN_ITEM_TARGET, note)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_NUMBER = re.compile(r"^\d[\d.,]*%?$")
_PERSON = frozenset("ông bà anh chị em cô chú bác".split())
_PLACE = frozenset("tại ở".split())
_TIME = frozenset("ngày năm tháng".split())
_LEAD_SENTENCES = 3  # the lead, which restates the title, is skipped


def _capitalised(token: str) -> bool:
    return bool(token) and token[0].isupper()


def _ask(tokens: list[str], rng: random.Random) -> str:
    """``tokens`` as a reader's question: one named detail (a person after
    "ông"/"bà"..., a place after "tại"/"ở", a date, a number) replaced by
    "ai", "ở đâu", "khi nào" or "bao nhiêu"; a plain sentence when none."""
    options: list[tuple[int, int, str]] = []  # (start, end, question words)
    for i, token in enumerate(tokens):
        lower = token.lower()
        name_end = i + 1
        while name_end < len(tokens) and _capitalised(tokens[name_end]):
            name_end += 1
        if name_end > i + 1 and token in _PERSON:  # "ông Hải", not "Anh Tuấn"
            options.append((i, name_end, "ai"))
        elif name_end > i + 1 and token in _PLACE:
            options.append((i, name_end, "ở đâu"))
        elif lower in _TIME and i + 1 < len(tokens) and tokens[i + 1][:1].isdigit():
            options.append((i, i + 2, "khi nào"))
        elif _NUMBER.match(token) and not (i and tokens[i - 1].lower() in _TIME):
            options.append((i, i + 1, "bao nhiêu"))
    if not options:
        return " ".join(tokens)
    start, end, words = rng.choice(options)
    return " ".join([*tokens[:start], words, *tokens[end:]]) + "?"


def _clause(sentence: str, rng: random.Random) -> list[str] | None:
    """A clause of 8-20 words of ``sentence`` (a comma-separated part, or a window)."""
    parts = [p.split() for p in re.split(r"[,;:()\"“”]", sentence)]
    fitting = [p for p in parts if 8 <= len(p) <= 20]
    if fitting:
        return rng.choice(fitting)
    words = sentence.split()
    if len(words) < 8:
        return None
    length = rng.randint(8, min(20, len(words)))
    start = rng.randint(0, len(words) - length)
    return words[start : start + length]


def build_question_set(corpus: Path, workdir: Path, pool: int, items: int, seed: int) -> EvalSet:
    """Reader questions about details deep in the bodies of long titled articles.

    The pool of :func:`draw_articles` (``seed`` + 1) is indexed with titles and
    bodies; each of ``items`` articles with a body of at least 1,500
    characters gets one query: a clause of 8-20 words from a sentence past the
    lead, the one sharing fewest words with the title among a few drawn, with
    a named detail turned into a question word when it has one (:func:`_ask`).
    The clause occurs in no other article of the pool, so the article is the
    one right answer. Built at run time: no text of the corpus is stored.
    """
    chosen, rng = draw_articles(corpus, pool, seed + 1)
    docs = _write_pool(chosen, workdir / "questions-pool.jsonl")
    bodies = "\n".join(" ".join(_syllables(a["body"].lower())) for a in chosen)
    queries: list[Query] = []
    for index in rng.sample(range(len(chosen)), len(chosen)):
        if len(queries) >= items:
            break
        article = chosen[index]
        sentences = [s for s in _SENTENCE_END.split(article["body"]) if s.strip()]
        if len(article["body"]) < 1500 or len(sentences) <= _LEAD_SENTENCES + 2:
            continue
        title = {w.lower() for w in _syllables(article["title"])}
        candidates: list[tuple[float, list[str]]] = []
        for sentence in rng.sample(sentences[_LEAD_SENTENCES:], min(6, len(sentences) - 3)):
            tokens = _clause(sentence, rng)
            if tokens is None:
                continue
            words = _syllables(" ".join(tokens).lower())
            if len(words) < 8 or bodies.count(" ".join(words)) != 1:
                continue
            candidates.append((sum(w in title for w in words) / len(words), tokens))
        if candidates:
            tokens = min(candidates, key=lambda c: c[0])[1]
            tokens = [t.strip(".,;:!?\"“”'()") for t in tokens]
            text = _ask([t for t in tokens if t], rng)
            queries.append(Query(str(article["id"]), text, frozenset({str(article["id"])})))
    note = f"{len(chosen)} articles, seed {seed + 1}"
    return EvalSet(QUESTIONS, docs, queries, QUESTIONS_TARGET, note)


# -- running -----------------------------------------------------------------


@dataclass
class FormResult:
    """Figures of one set in one query form."""

    recall: float = 0.0
    mrr: float = 0.0
    times_ms: list[float] = field(default_factory=list)
    hits: list[list[str]] = field(default_factory=list)
    changed: int = 0  # queries this form actually rewrote
    rejected: int = 0  # queries the search refused (too long...)


def build_engine(
    docs: Path, workdir: Path, ranking: Ranking = RANKING
) -> tuple[SearchEngine, float]:
    """A search engine over a fresh index of ``docs``, and seconds spent indexing.

    The engine has the index open, as a server has, before the queries run.
    """
    settings = Settings.load({"index": str(workdir / "index"), "cache_size": 0}, environ={})
    began = time.perf_counter()
    Indexer(settings).reindex([str(docs)])
    took = time.perf_counter() - began
    engine = SearchEngine(settings, ranking)
    engine.snapshot()
    return engine, took


def run_form(
    engine: SearchEngine, queries: list[Query], form: str, match: str | None = None
) -> FormResult:
    """Every query of ``queries`` in ``form`` through the API's search path."""
    rewrite = FORMS[form]
    result = FormResult()
    recall_sum = rr_sum = 0.0
    for query in queries:
        text = rewrite(query.text)
        result.changed += text != query.text
        began = time.perf_counter()
        try:
            response = engine.search(SearchRequest(q=text, per_page=K, match=match))
        except InvalidParameter:  # what the API answers with a 400: a miss
            result.rejected += 1
            response = {"hits": []}
        result.times_ms.append((time.perf_counter() - began) * 1000)
        ids = [hit["id"] for hit in response["hits"]]
        result.hits.append(ids)
        found = [i for i in ids if i in query.relevant]
        recall_sum += len(found) / len(query.relevant)
        rank = next((n for n, i in enumerate(ids, 1) if i in query.relevant), None)
        rr_sum += 1 / rank if rank else 0.0
    count = max(1, len(queries))
    result.recall = 100 * recall_sum / count
    result.mrr = 100 * rr_sum / count
    return result


@dataclass
class Row:
    set_name: str
    form: str
    queries: int
    recall: float
    mrr: float
    target: str
    passed: bool | None
    median_ms: float = 0.0
    extra: str = ""


def _fmt_target(target: Target) -> str:
    if target.recall is None and target.mrr is None:
        return "-"
    op = ">" if target.strict else ">="
    return f"R {op} {target.recall:g}, MRR {op} {target.mrr:g}"


def judge(eval_set: EvalSet, results: dict[str, FormResult]) -> list[Row]:
    """One row per form, each against its target."""
    rows: list[Row] = []
    base = results.get("accented")
    count = len(eval_set.queries)
    for form, res in results.items():
        target = KNOWN_ITEM_TARGET if eval_set.name == KNOWN_ITEM else eval_set.target
        extra = ""
        if form == "accented" or eval_set.name == KNOWN_ITEM:
            passed: bool | None = (
                target.met(res.recall, res.mrr) if target.recall is not None else None
            )
            text = _fmt_target(target)
        elif form == "unaccented" and base is not None:
            floor = Target(base.recall - UNACCENTED_MAX_LOSS, base.mrr - UNACCENTED_MAX_LOSS)
            passed = floor.met(res.recall, res.mrr)
            text = f"R >= {floor.recall:.2f}, MRR >= {floor.mrr:.2f}"
        else:
            passed = None
            text = "-"
        if form in SAME_AS_ACCENTED and base is not None:
            same = sum(a == b for a, b in zip(res.hits, base.hits))
            extra = f"same hits {same}/{count} ({res.changed} rewritten)"
            identical = same == count
            passed = identical if passed is None else passed and identical
            text = "= accented" if text == "-" else text + "; = accented"
        if res.rejected:
            extra = f"{extra} {res.rejected} rejected".strip()
        median = statistics.median(res.times_ms) if res.times_ms else 0.0
        rows.append(
            Row(eval_set.name, form, count, res.recall, res.mrr, text, passed, median, extra)
        )
    return rows


# -- related articles ----------------------------------------------------------

RELATED_SET = "vmds"
RELATED_TOP = 5


def event_clusters(eval_set: EvalSet) -> dict[str, frozenset[str]]:
    """Each article's event: the relevant ids of the query that holds it."""
    return {doc: query.relevant for query in eval_set.queries for doc in query.relevant}


def related_share(found: dict[str, list[str]], events: dict[str, frozenset[str]]) -> float:
    """Percent, averaged over articles, of each one's event's other articles in
    its related list (articles alone in their event do not count)."""
    shares = []
    for doc, event in events.items():
        others = event - {doc}
        if others:
            shares.append(len(others & set(found.get(doc, []))) / len(others))
    return 100 * sum(shares) / max(1, len(shares))


def cosine_related(docs: Path, ids: list[str], top: int) -> dict[str, list[str]]:
    """The baseline: each article's ``top`` nearest by tf-idf cosine over the
    syllables of title and body (raw counts, idf ``log(N / df) + 1``)."""
    texts: dict[str, list[str]] = {}
    for record in read_jsonl_gz(docs):
        text = f"{record.get('title') or ''} {record.get('body') or ''}"
        texts[str(record["id"])] = syllables(text)
    order = list(texts)
    vocab: dict[str, int] = {}
    for words in texts.values():
        for word in words:
            vocab.setdefault(word, len(vocab))
    counts = np.zeros((len(order), len(vocab)))
    for row, doc in enumerate(order):
        for word in texts[doc]:
            counts[row, vocab[word]] += 1
    df = (counts > 0).sum(axis=0)
    weights = counts * (np.log(len(order) / df) + 1)
    weights /= np.maximum(np.linalg.norm(weights, axis=1, keepdims=True), 1e-12)
    similar = weights @ weights.T
    np.fill_diagonal(similar, -math.inf)
    place = {doc: row for row, doc in enumerate(order)}
    found: dict[str, list[str]] = {}
    for doc in ids:
        best = np.argsort(-similar[place[doc]], kind="stable")[:top]
        found[doc] = [order[n] for n in best.tolist()]
    return found


def related_rows(engine: SearchEngine, eval_set: EvalSet) -> tuple[list[Row], list[float]]:
    """Related articles (``SearchEngine.related``, top 5) against the tf-idf cosine
    baseline computed here on the same articles; and each request's time (ms)."""
    events = event_clusters(eval_set)
    ids = sorted(events)
    found: dict[str, list[str]] = {}
    times: list[float] = []
    for doc in ids:
        began = time.perf_counter()
        response = engine.related(RelatedRequest(doc, limit=RELATED_TOP))
        times.append((time.perf_counter() - began) * 1000)
        found[doc] = [hit["id"] for hit in response["hits"]]
    ours = related_share(found, events)
    baseline = related_share(cosine_related(eval_set.docs, ids, RELATED_TOP), events)
    median = statistics.median(times) if times else 0.0
    note = f"share of the event's others in the top {RELATED_TOP}"
    return [
        Row(
            eval_set.name,
            "cosine",
            len(ids),
            baseline,
            math.nan,
            "-",
            None,
            0.0,
            "tf-idf cosine baseline, " + note,
        ),
        Row(
            eval_set.name,
            "related",
            len(ids),
            ours,
            math.nan,
            f"R > {baseline:.2f} (cosine)",
            ours > baseline,
            median,
            note,
        ),
    ], times


def _figure(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def print_table(rows: list[Row], out: Any = sys.stdout) -> None:
    header = (
        f"{'set':<14} {'form':<13} {'n':>5} {'R@10':>7} {'MRR@10':>7} {'ms':>6}  "
        f"{'target':<40} verdict"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in rows:
        verdict = {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        print(
            f"{r.set_name:<14} {r.form:<13} {r.queries:>5} {r.recall:>7.2f} {_figure(r.mrr):>7} "
            f"{r.median_ms:>6.1f}  "
            f"{r.target:<40} {verdict}  {r.extra}".rstrip(),
            file=out,
        )


def evaluate(
    sets: list[str],
    corpus: Path,
    limit: int | None,
    forms: list[str],
    pool: int,
    items: int,
    seed: int,
    ranking: Ranking = RANKING,
    log: Callable[[str], None] = lambda _: None,
    match: str | None = None,
) -> tuple[list[Row], list[float]]:
    """Evaluate ``sets``; the rows of the table and every query time (ms)."""
    rows: list[Row] = []
    times: list[float] = []
    for key in sets:
        with tempfile.TemporaryDirectory(prefix="timkiem-eval-") as tmp:
            workdir = Path(tmp)
            if key == KNOWN_ITEM:
                eval_set = build_known_item_set(corpus, workdir, pool, limit or items, seed)
            elif key == QUESTIONS:
                eval_set = build_question_set(corpus, workdir, pool, limit or items, seed)
            else:
                eval_set = load_relevance_set(corpus, key, limit)
            engine, seconds = build_engine(eval_set.docs, workdir, ranking)
            try:
                log(f"{eval_set.name}: indexed in {seconds:.1f} s {eval_set.note}".rstrip())
                results = {form: run_form(engine, eval_set.queries, form, match) for form in forms}
                if key == RELATED_SET:
                    related, _ = related_rows(engine, eval_set)
            finally:
                engine.close()
        for res in results.values():
            times.extend(res.times_ms)
        rows.extend(judge(eval_set, results))
        if key == RELATED_SET:
            rows.extend(related)
    return rows, times


def parse_ranking(pairs: list[str]) -> Ranking:
    """``RANKING`` with the ``NAME=NUMBER`` overrides of ``pairs``."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not hasattr(RANKING, name) or not value:
            raise ValueError(f"expected NAME=NUMBER with a Ranking field, got {pair!r}")
        values[name] = float(value)
    return Ranking(**{**RANKING.__dict__, **values})
