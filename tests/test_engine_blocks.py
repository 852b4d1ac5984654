"""Postings read in one piece equal Whoosh's matchers."""

from __future__ import annotations

import random
from typing import Any

import pytest
from whoosh import fields
from whoosh.filedb.filestore import RamStorage

from timkiem.engine.blocks import read_postings


def _matcher(reader: Any, field: str, btext: bytes) -> tuple[list[int], list[float]]:
    if (field, btext) not in reader:
        return [], []
    matcher = reader._terms.matcher(field, btext, reader.schema[field].format)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


@pytest.fixture
def ram_index() -> Any:
    """Three segments; terms with one posting (inlined), one block and many blocks."""
    schema = fields.Schema(body=fields.TEXT(phrase=False))
    index = RamStorage().create_index(schema)
    rng = random.Random(3)
    words = ["common", "half", "rare", "repeat"]
    for _segment in range(3):
        with index.writer() as writer:
            for number in range(700):
                text = ["common"] * rng.randint(1, 3)
                if number % 2:
                    text.append("half")
                if number == 5:
                    text.append("rare")
                text.extend(["repeat"] * rng.randint(0, 1))
                writer.add_document(body=" ".join(text))
    with index.writer() as writer:
        writer.delete_by_term("body", "rare")
    return index, words


def test_read_postings_equals_the_matcher(ram_index: Any) -> None:
    index, words = ram_index
    with index.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert len(leaves) == 3
        for leaf in leaves:
            for word in [*words, "absent"]:
                ids, weights = read_postings(leaf, "body", word.encode())
                assert (ids.tolist(), weights.tolist()) == _matcher(leaf, "body", word.encode())
        big = read_postings(leaves[0], "body", b"common")[0]
        assert len(big) == 700  # several blocks of 128
