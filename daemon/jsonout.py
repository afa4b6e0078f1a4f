"""Rows as JSON for ``--json`` outputs and ``offerwatch export --json``: nested, not JSON in JSON.

Why: the database keeps a few structured values as JSON text (an outlook's explanation, a
signal's entities, an event's attendees); dumped as they are, a consumer would get a string it
must parse a second time. :func:`nested` decodes exactly those columns; a value that is not
valid JSON (a hand-edited database) stays the text it is. Text offerwatch wrote with date
tokens (a derived signal's evidence, a stage reason) gets plain ISO 8601 dates
(:func:`offerwatch.models.humandate.iso_text`): JSON carries no human date style and no zone
of the reader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from offerwatch.models.humandate import iso_text

#: The columns offerwatch stores as JSON text (models/store.py writes them with json.dumps).
JSON_COLUMNS = frozenset({"outlook_explanation", "entities", "problems", "recipients", "refs", "attendees", "payload"})


def nested(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with its JSON-text columns decoded into lists and objects."""
    out = dict(row)
    for k in JSON_COLUMNS & out.keys():
        v = out[k]
        if isinstance(v, str) and v[:1] in ("[", "{"):
            try:
                out[k] = json.loads(v)
            except ValueError:
                continue  # not JSON after all: keep the text as stored
    return {k: iso_dates(v) for k, v in out.items()}


def iso_dates(value: Any) -> Any:
    """``value`` with the date tokens in every string (nested lists and objects too) as ISO 8601."""
    if isinstance(value, str):
        return iso_text(value)
    if isinstance(value, list):
        return [iso_dates(v) for v in value]
    if isinstance(value, dict):
        return {k: iso_dates(v) for k, v in value.items()}
    return value
