"""Reading every stored article back out, as records ``timkiem reindex`` accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from timkiem.config import Settings
from timkiem.errors import IndexUnavailable
from timkiem.records import record_hash
from timkiem.storage import IndexDirectory


def stored_records(settings: Settings) -> Iterator[dict[str, Any]]:
    """Every article of the live index generation, as it was ingested (normalized),
    in the index's document order."""
    index = IndexDirectory(settings.index).open_current()
    reader = index.reader()
    try:
        for fields in reader.all_stored_fields():
            record: dict[str, Any] = json.loads(fields["record"])
            yield record
    finally:
        reader.close()


def export_line(record: dict[str, Any]) -> str:
    """One JSON Lines line (without the newline); fields with no value are left out."""
    kept = {k: v for k, v in record.items() if v is not None and v != []}
    return json.dumps(kept, ensure_ascii=False)


def stored_hashes(settings: Settings) -> dict[str, str]:
    """Each stored article's id and :func:`record_hash`; empty when there is no index yet."""
    try:
        records = stored_records(settings)
        return {str(r["id"]): record_hash(r) for r in records}
    except IndexUnavailable:
        if IndexDirectory(settings.index).current_name() is None:
            return {}
        raise
