"""The memo that forgets everything at once when full."""

from __future__ import annotations

from timkiem.cache import Memo


def test_a_memo_keeps_what_it_is_given_until_full_then_starts_again() -> None:
    memo: Memo[str, int] = Memo(3)
    memo.update({"a": 1, "b": -1})
    memo.put("c", 0)
    assert [memo.get(k) for k in "abcd"] == [1, -1, 0, None]  # 0 and -1 are values
    memo.put("d", 4)  # full: everything before is forgotten
    assert [memo.get(k) for k in "abcd"] == [None, None, None, 4]
    assert len(memo) == 1
    memo.update({str(n): n for n in range(10)})  # a batch is kept whole
    assert len(memo) == 11 and memo.get("9") == 9
    memo.clear()
    assert len(memo) == 0
