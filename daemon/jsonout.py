"""Rows as JSON for ``--json`` outputs and ``offerwatch export --json``: nested, not JSON in JSON.

Why: the database keeps a few structured values as JSON text (an outlook's explanation, a
signal's entities, an event's attendees); dumped as they are, a consumer would get a string it
must parse a second time. :func:`nested` decodes exactly those columns; a value that is not
valid JSON (a hand-edited database) stays the text it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
    return out
