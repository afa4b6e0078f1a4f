"""Which application does a job message belong to?

Thread headers first (a reply belongs where its parent is), then the company: from an ATS
display name ("Acme via Greenhouse"), the subject ("Your application to Acme"), or the
sender's domain (never the ATS's or a free-mail domain). When unsure, a new application is
made and the reason recorded, rather than linking wildly.
"""

from __future__ import annotations

import json
import logging
import re

from offerwatch.models.domain import Analysis, Direction
from offerwatch.models.store import Store

log = logging.getLogger(__name__)

#: Sender domains that speak for many companies: the company must come from elsewhere.
ATS_DOMAINS = (
    "greenhouse.io", "greenhouse-mail.io", "lever.co", "hire.lever.co", "myworkday.com", "workday.com",
    "ashbyhq.com", "smartrecruiters.com", "icims.com", "jobvite.com", "bamboohr.com", "workable.com",
    "recruitee.com", "teamtailor.com", "personio.de", "personio.com", "successfactors.com", "taleo.net",
    "calendly.com", "goodtime.io", "gem.com", "linkedin.com", "indeed.com", "indeedemail.com", "breezy.hr",
    "jazzhr.com", "applytojob.com", "rippling.com", "pinpointhq.com", "dover.com", "wellfound.com",
    "paradox.ai", "hirevue.com", "modernloop.io", "zoom.us", "google.com", "microsoft.com", "outlook.com",
)
FREEMAIL_DOMAINS = (
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
    "me.com", "fastmail.com", "proton.me", "protonmail.com", "aol.com", "gmx.de", "gmx.net", "web.de",
)
_GENERIC_LABELS = {"mail", "email", "careers", "jobs", "hr", "talent", "recruiting", "notifications", "no-reply",
                   "noreply", "us", "eu", "em", "e", "m", "mg", "send", "hire", "app", "www", "corp", "team"}
_DISPLAY_VIA = re.compile(
    r"^(?P<company>.+?)\s+(?:via\s+\w+|hiring\s+team|recruiting(?:\s+team)?|talent(?:\s+acquisition)?(?:\s+team)?|careers|jobs|hr|people\s+team)$",
    re.I,
)
_SUBJECT_COMPANY = (
    re.compile(r"\b(?:application|applying|interest)\s+(?:to|at|with)\s+(?P<company>[A-Z][\w&.' -]{1,40}?)(?:\s*[!|:,(-]|\s+for\b|$)"),
    re.compile(r"\bat\s+(?P<company>[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3})\s*(?:[!|:,(-]|$)"),
    re.compile(r"^(?:re:\s*|fwd?:\s*)*(?P<company>[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3})\s*\|"),
)
_SUBJECT_ROLE = (
    re.compile(r"\|\s*(?P<role>[^|]{3,80}?)\s*(?:[-–|]\s*[a-z][^|]*)?$"),
    re.compile(r"\bfor\s+(?:the\s+|our\s+)?(?P<role>[A-Z][\w/&,. -]{2,80}?)\s+(?:role|position|opening|opportunity)?\s*(?:at\b|with\b|$|[|(-])"),
)


def normalize_company(name: str) -> str:
    n = name.lower()
    n = re.sub(r"\b(inc|llc|ltd|gmbh|corp|corporation|co|plc|ag|sa|bv|the)\b\.?", " ", n)
    return re.sub(r"[^a-z0-9]+", "", n)


def registrable_domain(email: str) -> str:
    domain = email.rsplit("@", 1)[-1].lower()
    parts = domain.split(".")
    if len(parts) >= 3 and parts[-2] in ("co", "com", "org", "net", "ac") and len(parts[-1]) == 2:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def is_ats_domain(domain: str) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in ATS_DOMAINS)


def company_from_domain(email: str) -> str | None:
    domain = email.rsplit("@", 1)[-1].lower()
    reg = registrable_domain(email)
    if is_ats_domain(domain) or reg in FREEMAIL_DOMAINS:
        return None
    label = reg.split(".")[0]
    if label in _GENERIC_LABELS:
        return None
    return " ".join(w.capitalize() for w in re.split(r"[-_]", label) if w)


def guess_company(a: Analysis) -> tuple[str | None, str]:
    """The company a message is about, with the reason it was chosen."""
    counterpart = a.sender
    if a.direction is Direction.OUT:
        counterpart = next((r for r in a.to + a.cc), None)
    if counterpart is not None:
        m = _DISPLAY_VIA.match(counterpart.name.strip()) if counterpart.name else None
        if m:
            return m.group("company").strip(" ,-"), f"display name {counterpart.name!r}"
    for pattern in _SUBJECT_COMPANY:
        m = pattern.search(a.subject or "")
        if m:
            company = m.group("company").strip(" ,.-")
            if company and company.lower() not in ("the", "our", "a"):
                return company, f"subject {a.subject!r}"
    if counterpart is not None:
        company = company_from_domain(counterpart.email)
        if company:
            return company, f"sender domain {registrable_domain(counterpart.email)}"
    return None, "no company found"


def guess_role(a: Analysis) -> str | None:
    if a.role:
        return a.role
    subject = re.sub(r"^(?:(?:re|fwd?|aw|wg)\s*:\s*)+", "", a.subject or "", flags=re.I)
    for pattern in _SUBJECT_ROLE:
        m = pattern.search(subject)
        if m:
            role = m.group("role").strip(" -|,.")
            if 3 <= len(role) <= 80:
                return role
    return None


def link_message(store: Store, a: Analysis) -> int | None:
    """Return the application id for a job message, creating one when needed."""
    ids = ([a.in_reply_to] if a.in_reply_to else []) + list(reversed(a.references))
    for mid in ids:
        row = store.db.execute(
            "SELECT application_id FROM messages WHERE message_id = ? AND application_id IS NOT NULL", [mid]
        ).fetchone()
        if row:
            return int(row[0])
    # A parent that arrived later may already list this message in its References.
    if a.message_id:
        row = store.db.execute(
            "SELECT application_id FROM messages WHERE refs LIKE ? AND application_id IS NOT NULL LIMIT 1",
            [f'%{json.dumps(a.message_id)[1:-1]}%'],
        ).fetchone()
        if row:
            return int(row[0])
    company, reason = guess_company(a)
    if company is None:
        company, reason = "Unknown company", "no thread and no company in the message"
    role = guess_role(a)
    norm = normalize_company(company)
    candidates = [
        r for r in store.rows("SELECT id, company, role FROM applications WHERE closed = 0 OR closed = 1")
        if normalize_company(r["company"]) == norm
    ]
    if candidates:
        if role:
            same_role = [c for c in candidates if c["role"] and _same_role(c["role"], role)]
            if same_role:
                return int(same_role[0]["id"])
            unnamed = [c for c in candidates if not c["role"]]
            if unnamed:
                store.db.execute("UPDATE applications SET role = ? WHERE id = ?", [role, unnamed[0]["id"]])
                return int(unnamed[0]["id"])
            if len(candidates) == 1 and not _looks_like_role(role):
                return int(candidates[0]["id"])
            return store.create_application(company, role, f"{reason}; second role at the company")
        return int(candidates[0]["id"])
    return store.create_application(company, role, reason)


def _same_role(a: str, b: str) -> bool:
    na, nb = re.sub(r"[^a-z0-9]+", " ", a.lower()).strip(), re.sub(r"[^a-z0-9]+", " ", b.lower()).strip()
    return na == nb or na in nb or nb in na


def _looks_like_role(text: str) -> bool:
    return bool(re.search(r"engineer|developer|analyst|scientist|manager|designer|lead|architect|director|intern|specialist|consultant", text, re.I))
