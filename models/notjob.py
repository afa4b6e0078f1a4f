"""Mail the user marked as not job-related: an application, a sender address or a domain.

Why here and not in the classifier: the classifier decides from one message's content, and a
wrong "job" there (a newsletter from a company you applied to, a friend's mail about a job
they took) is the user's call to correct. A mark is a rule in the ``not_job`` table:

* ``sender`` (an address) and ``domain`` (a domain and its subdomains) match incoming mail by
  its sender, outgoing mail when every recipient matches;
* ``application`` matches the application's messages (by their stored rows) and later replies
  in their threads (their Message-IDs in ``not_job_refs``).

Marking strips the matching job messages the way private mail is stored (no subject, sender,
text; :meth:`Store.write_batch` stores it so): their signals, interviews and salary figures go,
an application left without mail goes, and ``messages.not_job_rule`` remembers which rule took
them. Ingest consults the rules (:func:`load_rules` in ``write_batch``), so the same mail read
again, or new mail that matches, stays out.

Undo deletes the rule and makes the mail it took readable again: the messages' folder
locations are forgotten and each folder's high-water mark is moved back before them, so the
next ``offerwatch sync`` (or ``backfill``) reads them again and classifies them afresh.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from offerwatch.models.domain import Analysis, Direction

if TYPE_CHECKING:
    from offerwatch.models.store import Store

KINDS = ("sender", "domain", "application")

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


class NotJobError(ValueError):
    """A mark that cannot be made or undone; the message says what to do instead."""


def normalize_sender(text: str) -> str:
    """An address as it is matched: lower case, without a display name.

    >>> normalize_sender("Jo Smith <Jo@Acme.io>")
    'jo@acme.io'
    """
    pairs = [e for _, e in getaddresses([text.strip()]) if e]
    if len(pairs) != 1 or "@" not in pairs[0]:
        raise NotJobError(f"{text!r} is not one mail address: write it as name@example.com")
    email = pairs[0].strip().lower()
    local, _, dom = email.rpartition("@")
    if not local or not _DOMAIN.match(dom):
        raise NotJobError(f"{text!r} is not a mail address: write it as name@example.com")
    return email


def normalize_domain(text: str) -> str:
    """A domain as it is matched (lower case, no ``@`` or dots around it); it also covers its
    subdomains. Free-mail, ATS and scheduler domains are refused: they carry mail of many
    senders, real recruiters among them.

    >>> normalize_domain("@News.Acme.io.")
    'news.acme.io'
    """
    from offerwatch.models.linking import is_company_domain

    dom = text.strip().strip("@.").lower()
    if not _DOMAIN.match(dom):
        raise NotJobError(f"{text!r} is not a domain: write it as example.com")
    if not is_company_domain("x@" + dom):
        raise NotJobError(f"{dom} carries mail of many senders (free mail, an applicant tracking system or a "
                          "scheduler): mark the address instead, with --sender name@" + dom)
    return dom


def _domain_matches(email: str, domain: str) -> bool:
    dom = email.rpartition("@")[2]
    return dom == domain or dom.endswith("." + domain)


@dataclass
class Rules:
    """The marks, loaded once per batch: lookups by address, domain and thread Message-ID."""

    senders: dict[str, int] = field(default_factory=dict)
    domains: dict[str, int] = field(default_factory=dict)
    refs: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.senders or self.domains or self.refs)

    def for_address(self, email: str) -> int | None:
        email = email.strip().lower()
        if email in self.senders:
            return self.senders[email]
        return next((rid for dom, rid in self.domains.items() if _domain_matches(email, dom)), None)

    def match(self, a: Analysis) -> int | None:
        """The id of the rule that takes ``a`` out of the job data, or ``None``."""
        for ref in (a.in_reply_to, *a.references):
            if ref and ref in self.refs:
                return self.refs[ref]
        if a.direction == Direction.OUT:
            found = [self.for_address(x.email) for x in (*a.to, *a.cc) if x.email]
            return found[0] if found and all(found) else None
        return self.for_address(a.sender.email) if a.sender and a.sender.email else None


def load_rules(store: Store) -> Rules:
    rules = Rules()
    for r in store.rows("SELECT id, kind, value FROM not_job WHERE kind IN ('sender', 'domain')"):
        (rules.senders if r["kind"] == "sender" else rules.domains)[str(r["value"])] = int(r["id"])
    rules.refs = {str(r["message_id"]): int(r["rule"]) for r in store.rows("SELECT message_id, rule FROM not_job_refs")}
    return rules


@dataclass(frozen=True)
class MarkResult:
    rule_id: int
    messages: int  # job messages taken out
    removed: tuple[int, ...]  # applications left without mail, deleted
    touched: tuple[int, ...]  # applications that lost some mail and must be assessed again
    created: bool  # False: the mark existed already


def reason(rule_id: int) -> str:
    """The classifier reason stored on mail a mark took out (no address: private mail keeps none)."""
    return f"not job-related: marked by you (rule #{rule_id}; `offerwatch notjob` lists the marks)"


def mark(store: Store, kind: str, value: str, label: str | None = None) -> MarkResult:
    """Add a mark (``sender`` / ``domain``: ``value`` already normalized) and take the matching
    job mail out now. Marking twice is harmless."""
    if kind not in ("sender", "domain"):
        raise ValueError(kind)
    with store.atomic():
        rule_id, created = _rule(store, kind, value, label)
        rules = Rules(**{"senders" if kind == "sender" else "domains": {value: rule_id}})
        keys = [str(r["key"]) for r in store.rows(
            "SELECT key, direction, sender_email, recipients FROM messages WHERE is_job = 1") if _row_matches(rules, r)]
        return _take_out(store, rule_id, keys, created)


def mark_application(store: Store, app_id: int) -> MarkResult:
    """Take an application and all its mail out; later replies in its threads stay out."""
    apps = store.rows("SELECT company, role FROM applications WHERE id = ?", [app_id])
    if not apps:
        raise NotJobError(f"there is no application #{app_id}: `offerwatch apps --all` lists them")
    label = " — ".join(str(x) for x in (apps[0]["company"], apps[0]["role"]) if x)
    with store.atomic():
        rule_id, created = _rule(store, "application", str(app_id), label)
        msgs = store.rows("SELECT key, message_id FROM messages WHERE application_id = ?", [app_id])
        for m in msgs:
            if m["message_id"]:
                store.db.execute("INSERT OR IGNORE INTO not_job_refs(message_id, rule) VALUES (?, ?)", [m["message_id"], rule_id])
        result = _take_out(store, rule_id, [str(m["key"]) for m in msgs], created)
        if app_id not in result.removed:  # no mail at all: the application itself goes too
            _delete_application(store, app_id)
            result = MarkResult(rule_id, result.messages, (*result.removed, app_id),
                                tuple(i for i in result.touched if i != app_id), created)
        return result


def unmark(store: Store, kind: str, value: str) -> int:
    """Delete a mark; the mail it took out is read again at the next sync or backfill.
    Returns how many messages come back; :class:`NotJobError` when there is no such mark."""
    rows = store.rows("SELECT id FROM not_job WHERE kind = ? AND value = ?", [kind, value])
    if not rows:
        what = f"application #{value}" if kind == "application" else value
        raise NotJobError(f"{what} is not marked as not job-related: `offerwatch notjob` lists the marks")
    rule_id = int(rows[0]["id"])
    with store.atomic():
        keys = [str(r["key"]) for r in store.rows("SELECT key FROM messages WHERE not_job_rule = ?", [rule_id])]
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            # Move each folder's high-water mark back before the first of them, so an ordinary
            # sync reads them again (reading known mail again is idempotent); forget where they
            # were seen, so a backfill does not skip them.
            for loc in store.rows(
                f"SELECT account, folder, uidvalidity, min(uid) AS uid FROM locations WHERE message_key IN ({marks}) "
                "GROUP BY account, folder, uidvalidity", chunk):
                store.db.execute(
                    "UPDATE folders SET last_uid = min(last_uid, ?) WHERE account = ? AND name = ? AND uidvalidity = ?",
                    [max(int(loc["uid"]) - 1, 0), loc["account"], loc["folder"], loc["uidvalidity"]])
            store.db.execute(f"DELETE FROM locations WHERE message_key IN ({marks})", chunk)
        store.db.execute(
            "UPDATE messages SET not_job_rule = NULL, job_reason = 'marked job-related again: read again at the next sync' "
            "WHERE not_job_rule = ?", [rule_id])
        store.db.execute("DELETE FROM not_job_refs WHERE rule = ?", [rule_id])
        store.db.execute("DELETE FROM not_job WHERE id = ?", [rule_id])
    return len(keys)


def marks(store: Store) -> list[dict[str, Any]]:
    """The marks, oldest first, each with how many messages it keeps out."""
    return store.rows(
        "SELECT n.id, n.kind, n.value, n.label, n.created_at, "
        "(SELECT count(*) FROM messages m WHERE m.not_job_rule = n.id) AS messages FROM not_job n ORDER BY n.id")


def _rule(store: Store, kind: str, value: str, label: str | None) -> tuple[int, bool]:
    from offerwatch.models.store import utcnow

    row = store.db.execute("SELECT id FROM not_job WHERE kind = ? AND value = ?", [kind, value]).fetchone()
    if row:
        return int(row[0]), False
    cur = store.db.execute("INSERT INTO not_job(kind, value, label, created_at) VALUES (?, ?, ?, ?)",
                           [kind, value, label, utcnow()])
    return int(cur.lastrowid or 0), True


def _row_matches(rules: Rules, row: dict[str, Any]) -> bool:
    if row["direction"] == "out":
        try:
            rcpts = [e for _, e in getaddresses(json.loads(row["recipients"] or "[]")) if e]
        except (TypeError, ValueError):
            return False
        found = [rules.for_address(e) for e in rcpts]
        return bool(found) and all(found)
    return bool(row["sender_email"]) and rules.for_address(str(row["sender_email"])) is not None


def _chunks(keys: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(keys), n):
        yield keys[i:i + n]


def _take_out(store: Store, rule_id: int, keys: list[str], created: bool) -> MarkResult:
    apps: set[int] = set()
    for chunk in _chunks(keys):
        marks_ = ",".join("?" * len(chunk))
        apps |= {int(r["application_id"]) for r in store.rows(
            f"SELECT DISTINCT application_id FROM messages WHERE key IN ({marks_}) AND application_id IS NOT NULL", chunk)}
        strip_messages(store, chunk, rule_id)
    removed, touched = [], []
    for app_id in sorted(apps):
        if store.db.execute("SELECT 1 FROM messages WHERE application_id = ? LIMIT 1", [app_id]).fetchone():
            touched.append(app_id)
        else:
            _delete_application(store, app_id)
            removed.append(app_id)
    return MarkResult(rule_id, len(keys), tuple(removed), tuple(touched), created)


def strip_messages(store: Store, keys: list[str], rule_id: int) -> None:
    """Store these messages as private mail is stored, taken out by rule ``rule_id``."""
    if not keys:
        return
    marks_ = ",".join("?" * len(keys))
    for table in ("signals", "events", "salaries", "thread_refs"):
        store.db.execute(f"DELETE FROM {table} WHERE message_key IN ({marks_})", keys)
    store.db.execute(f"UPDATE offers SET message_key = NULL WHERE message_key IN ({marks_})", keys)
    store.db.execute(
        "UPDATE messages SET is_job = 0, job_reason = ?, not_job_rule = ?, subject = NULL, subject_key = NULL, sender_email = NULL, "
        "sender_name = NULL, recipients = NULL, text = NULL, signature = NULL, sender_role = NULL, sender_title = NULL, "
        "company = NULL, role = NULL, application_id = NULL, link_reason = NULL, thread_hint = NULL, counterpart = NULL, "
        f"counterpart_domain = NULL, sender_tie = NULL WHERE key IN ({marks_})", [reason(rule_id), rule_id, *keys])


def _delete_application(store: Store, app_id: int) -> None:
    """An application without mail left: it and what was derived for it go."""
    for table in ("signals", "events", "salaries", "offers"):
        store.db.execute(f"DELETE FROM {table} WHERE application_id = ?", [app_id])
    store.db.execute("UPDATE messages SET application_id = NULL WHERE application_id = ?", [app_id])
    store.db.execute("DELETE FROM applications WHERE id = ?", [app_id])
