"""Telling a damaged index from a bug: what Whoosh raises reading bad files."""

from __future__ import annotations

import pickle
import struct
import zlib

from timkiem.engine.segdata import SegmentDataError
from timkiem.engine.stored import StoredDataError

# What Whoosh raises reading damaged files (it also raises bare ``Exception``).
DAMAGE = (
    OSError,
    EOFError,
    ValueError,
    struct.error,
    zlib.error,
    pickle.UnpicklingError,
    SegmentDataError,
    StoredDataError,
)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the index's files cannot be read (not a bug of ours)."""
    return isinstance(exc, DAMAGE) or type(exc) is Exception
