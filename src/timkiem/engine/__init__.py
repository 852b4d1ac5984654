"""timkiem's search engine: the code that knows Whoosh's files and internals.

Tied to whoosh-reloaded 2.7.5 (``>=2.7.5,<2.8`` in ``pyproject.toml``): it
writes W3 segments itself, reads W3 posting blocks and column files (stored
fields included) directly, and reproduces ``whoosh.scoring.BM25F`` operation
for operation. The tests that pin it to Whoosh's own behaviour, to run on any
upgrade:

- ``tests/test_engine_segwriter.py``: segments written here read back in
  Whoosh exactly as Whoosh's own writer's (terms, postings, lengths, stats);
- ``tests/test_engine_blocks.py``: posting blocks decoded here equal Whoosh's
  matchers;
- ``tests/test_engine_segdata.py``: each segment's derived data equals its
  Whoosh postings and is rebuilt when damaged;
- ``tests/test_engine_stored.py``: stored fields read here equal Whoosh's
  ``stored_fields`` (every column layout Whoosh writes), and a damaged
  column is reported;
- ``tests/test_engine_whoosh_parity.py``: hits, scores and tie order equal
  Whoosh's own searcher's.

Modules, from disk up:

- ``filestore``: Whoosh storage whose commits are durable and reads positional;
- ``batch``: a batch's postings in flat arrays;
- ``blocks``: W3 posting blocks, written and read in bulk;
- ``segwriter``: the segment writers (one process or several);
- ``segdata``: each segment's derived data file (term postings and score codes);
- ``columns``: per-document columns of a segment (dates, categories, lengths);
- ``stored``: a segment's stored fields, read from its column file without a lock;
- ``snapshot``: a list of segments and the index-wide columns built from them;
- ``scoring``: BM25F as Whoosh computes it, for many terms at once; top k;
- ``lookup``: where a query's terms are, and their scores in every document
  or in a few;
- ``topk``: the first k matches by score, reading only the postings needed;
- ``executor``: a query plan run on a snapshot (match, score, top k);
- ``damage``: what reading a damaged index raises.
"""
