"""Which application does a job message belong to? And the user's corrections of that.

:func:`link_message` is the ``linker`` the sync engine hands to :meth:`Store.write_batch`. It
tries, in this order, and records on the message (``messages.link_reason``) which one decided:

1. a correction the user made (a message moved by ``apps split`` stays where they put it);
2. thread headers: In-Reply-To, then References from the nearest ancestor back, then Gmail's
   ``X-GM-THRID``; also the other way round (an earlier-processed reply that names this
   message as its parent); loops and a message naming itself are ignored;
3. the same counterpart address (the person who wrote, or whom the user wrote to);
4. the same company: the counterpart's domain (never an ATS's, a scheduler's or a free-mail
   domain), the company in an ATS display name ("Acme via Greenhouse", "Acme Careers"),
   the subject ("Thank you for applying to Acme", "Acme | Senior Data Engineer",
   "Intro call with Jo Doe (Acme)"), the signature ("Talent Partner | Acme") and company
   names the user merged away; a name and a domain match when the domain is the name
   squeezed, abbreviated or cut (``kestrelpay.com`` ~ Kestrel Payments, ``brightfieldmg.com``
   ~ Brightfield Marketing Group);
5. a known contact named in a scheduler's or ATS's message (a Calendly "Phone Screen with Sam Okoro").

A company's name alone proves nothing (anyone can write "Acme" in a subject): a name joins an
application only when the sender is tied to that company (:func:`_tie_to`: its domain, its ATS,
a known contact, the user's own mail; the thread ties by itself). A stranger naming a company
starts an application of its own whose reason says which merge would join them, so a spoofed
"rejection" cannot close a real offer. How the sender was tied is kept in
``messages.sender_tie``; the digest marks ``none``.

Inside a company the role decides: two different job titles are two applications, a message
that names no title goes to the company's only application. Recruiting agencies speak for
several companies, so their messages join an application only through the thread or the same
title. When nothing is sure, a new application is created and the reason recorded
(``applications.link_reason``), rather than linking wildly.

Corrections (:func:`merge_applications`, :func:`split_application`,
:func:`rename_application`, :func:`close_application`) are recorded in the ``corrections``
table and consulted by the linker, so they survive re-processing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from offerwatch.models.domain import Address, Analysis, Direction
from offerwatch.models.store import Store, utcnow
from offerwatch.models.subjects import SUBJECT_PREFIX as _SUBJECT_PREFIX
from offerwatch.models.subjects import normalize_subject

log = logging.getLogger(__name__)

#: Sender domains that speak for many companies: applicant tracking systems, schedulers, job
#: boards and bulk mail services. The company must come from elsewhere.
ATS_DOMAINS = frozenset({
    "greenhouse.io", "greenhouse-mail.io", "lever.co", "myworkday.com", "myworkdayjobs.com", "workday.com",
    "ashbyhq.com", "ashby.io", "smartrecruiters.com", "icims.com", "jobvite.com", "bamboohr.com", "workable.com",
    "workablemail.com", "recruitee.com", "teamtailor.com", "teamtailor-mail.com", "personio.de", "personio.com",
    "successfactors.com", "successfactors.eu", "sapsf.com", "taleo.net", "oraclecloud.com", "brassring.com",
    "avature.net", "eightfold.ai", "phenompeople.com", "ultipro.com", "ukg.com", "adp.com", "paylocity.com",
    "paycomonline.net", "dayforcehcm.com", "breezy.hr", "jazzhr.com", "jazz.co", "applytojob.com", "rippling.com",
    "pinpointhq.com", "dover.com", "wellfound.com", "angel.co", "paradox.ai", "hirevue.com", "comeet.co",
    "join.com", "homerun.co", "recruiterbox.com", "zohorecruit.com", "freshteam.com", "manatal.com",
    "bullhorn.com", "hibob.com", "otta.com", "hired.com", "dice.com", "monster.com", "glassdoor.com",
    "ziprecruiter.com", "indeed.com", "indeedemail.com", "linkedin.com", "welcometothejungle.com",
    "calendly.com", "goodtime.io", "modernloop.io", "prelude.co", "gem.com", "beamery.com", "yello.co",
    "cal.com", "doodle.com", "youcanbook.me", "acuityscheduling.com", "chilipiper.com", "savvycal.com",
    "codesignal.com", "hackerrank.com", "codility.com", "karat.com", "coderpad.io", "testgorilla.com",
    "zoom.us", "google.com", "microsoft.com", "office365.com", "amazonses.com", "sendgrid.net", "mailgun.org",
    "mandrillapp.com", "sparkpostmail.com", "mcsv.net",
    # e-signature services: an offer letter "via DocuSign" speaks for the company that sent it
    "docusign.net", "docusign.com", "echosign.com", "adobesign.com", "hellosign.com", "dropboxsign.com",
})
FREEMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com",
    "icloud.com", "me.com", "mac.com", "fastmail.com", "fastmail.fm", "proton.me", "protonmail.com", "pm.me",
    "aol.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "mail.com", "zoho.com", "yandex.com", "hey.com",
})
#: Brands whose "-mail" / "mail" sending domains are theirs too (``teamtailor-mail.com``).
_ATS_BRANDS = ("greenhouse", "lever", "workday", "ashby", "smartrecruiters", "icims", "jobvite", "bamboohr",
               "workable", "recruitee", "teamtailor", "personio", "taleo", "breezy", "jazzhr", "calendly",
               "goodtime", "linkedin", "indeed", "glassdoor", "ziprecruiter")
#: Job boards whose "X via Board" display names name a person, not a company.
_BOARDS = ("linkedin", "indeed", "glassdoor", "wellfound", "ziprecruiter", "dice", "monster", "otta", "hired", "xing")
_TOOL_NAMES = {"calendly", "linkedin", "greenhouse", "lever", "workday", "ashby", "smartrecruiters", "icims",
               "goodtime", "workable", "teamtailor", "jobvite", "indeed", "glassdoor", "google calendar",
               "microsoft outlook", "outlook", "zoom", "gem", "notifications", "notification", "no reply",
               "noreply", "hiring team", "recruiting", "recruiting team", "talent team", "careers", "jobs",
               "human resources", "hr", "talent acquisition", "people team", "scheduling", "linkedin job alerts"}
_GENERIC_LABELS = {"mail", "email", "careers", "jobs", "hr", "talent", "recruiting", "notifications", "no-reply",
                   "noreply", "us", "eu", "em", "e", "m", "mg", "send", "hire", "app", "www", "corp", "team"}
_LEGAL = re.compile(
    r"\b(?:inc|llc|l\.l\.c|ltd|limited|gmbh|corp|corporation|co|company|plc|ag|sa|s\.a|bv|b\.v|nv|oy|ab|as|aps|"
    r"srl|s\.r\.l|sarl|spa|s\.p\.a|kg|ug|pty|pvt|sp\.?\s*z\s*o\.?\s*o|the)\b\.?",
    re.I,
)
_ORG_WORDS = re.compile(
    r"\b(?:inc|llc|ltd|gmbh|labs?|data|health|healthcare|bank|group|systems|technologies|tech|ai|analytics|capital|"
    r"media|university|college|academy|school|games|cloud|networks|robotics|security|payments|mutual|logistics|"
    r"freight|therapeutics|biosciences|bio|mobility|fintech|studio|partners|consulting|solutions|software|ventures|"
    r"holdings|insurance|foundation|institute|hospital|clinic|energy|grid|ledger|marketing|agency|company|corp)\b",
    re.I,
)
_TITLE_WORDS = re.compile(
    r"\b(?:engineer|engineering|developer|analyst|scientist|manager|lead|designer|architect|director|intern|"
    r"specialist|consultant|teacher|instructor|lecturer|professor|researcher|administrator|associate|officer|"
    r"coordinator|head|vp|president|sre|devops|accountant|nurse|writer|editor|product|programmer|technician|"
    r"strategist|advisor|partner|recruiter|representative|executive|assistant|fellow|trainee|apprentice)s?\b",
    re.I,
)
_NOISE_SEGMENT = re.compile(
    r"^(?:(?:quick\s+)?(?:update|chat|call|question|note|check[- ]?in)s?\??|next\s+steps?|following\s+up|follow[- ]up|"
    r"checking\s+in|timing|agenda.*|your\s+(?:application|offer|candidacy|interview)|thank\s+you.*|thanks.*|"
    r"intro(?:duction)?\s+call\??|interview(?:\s+(?:invitation|availability|request|confirmation|confirmed))?|"
    r"invitation|offer(?:\s+of\s+employment)?|final\s+(?:stage|round|discussion)(?:\s+outcome)?.*|hello.*|hi.*|"
    r"status.*|application\s+(?:received|acknowledg(?:e)?ment|confirmation|update).*|rate|salary\s+expectations?|"
    r"panel\s+interview|technical\s+(?:round|interview).*|phone\s+screen.*|campus\s+visit|demo\s+lesson.*|"
    r"we've\s+received.*|received|important.*|reminder|accelerating\s+next\s+steps|update\s+on.*)$",
    re.I,
)
_REQ_ID = re.compile(r"\s*\((?:req\.?|requisition|job|posting|ref\.?|id)?\s*#?\s*[A-Z]*-?[\d][\w-]*\)|\s*\(#?\s*\d[\w-]*\)", re.I)
_CAL_PREFIX = re.compile(
    r"^\s*(?:updated\s+invitation|invitation|accepted|declined|canceled|cancelled|confirmed|rescheduled|reminder|"
    r"new\s+event|interview\s+confirmed|updated\s+event)\s*:\s*", re.I
)
_CAL_TAIL = re.compile(r"\s+@\s+(?:mon|tue|wed|thu|fri|sat|sun)\w*\b.*$|\s*\([^()]*@[^()]*\)\s*$", re.I)
_COMPANY_CHARS = r"[A-Z0-9][\w&.'’+-]*(?:\s+(?:&\s+|and\s+|of\s+|de\s+|x\s+)?[A-Z0-9][\w&.'’+-]*){0,4}"
_SUBJECT_COMPANY = (
    re.compile(r"\b(?i:applying|applied|application|apply)\s+(?i:to|at|with)\s+(?P<c>" + _COMPANY_CHARS + r")"),
    re.compile(r"\b(?i:application\s+(?:was\s+)?sent\s+to)\s+(?P<c>" + _COMPANY_CHARS + r")"),
    re.compile(r"\b(?i:offer|news|message|onsite|interview|role|position|opportunity|career|future)\s+(?i:from|at|with)\s+(?P<c>" + _COMPANY_CHARS + r")"),
    re.compile(r"\b(?i:for|about)\s+[^|@]+?\s+at\s+(?P<c>" + _COMPANY_CHARS + r")\s*[!.?]?\s*$"),
    re.compile(r"\b(?i:with)\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}\s+\((?P<c>[^()]{2,60})\)"),
    re.compile(r"^\s*[^@]{2,80}?\s+@\s+(?P<c>" + _COMPANY_CHARS + r")\s*$"),
    re.compile(r"\b(?i:welcome\s+to|hello\s+from|greetings\s+from|news\s+from)\s+(?P<c>" + _COMPANY_CHARS + r")"),
)
_SEPARATORS = re.compile(r"\s+[-–—|/]\s+|\s*\|\s*|\s*:\s+|\s+[–—]\s*|\s*[–—]\s+")
_AGENCY_WORDS = re.compile(
    r"staffing|recruiting|recruitment|recruiters|headhunt|resourcing|placements?\b|personnel|"
    r"executive\s*search|search\s*(?:group|partners|firm)|\btalent(?:\s+partners)?\s*$",
    re.I,
)
_CLIENT = re.compile(r"\b(?:sent|submitted|put\s+forward|forwarded|shared)\s+(?:your\s+|my\s+)?(?:cv|resume|résumé|profile)\b|"
                     r"\bcv\s+(?:sent|submitted)\b|\b(?:my|our|the|your)\s+client\b(?![-\w])|\bon\s+behalf\s+of\s+(?:my|our|a)\s+client\b", re.I)
_ROLE_NOISE_TAIL = re.compile(
    r"\s*(?:[-–—:]\s*)?\b(?:interview(?:\s+(?:invitation|request))?|position|role|opening|opportunity|vacancy|"
    r"next\s+steps?|update|technical\s+round|final\s+round|rate|(?:intro(?:duction|ductory)?|quick|short|coffee)\s+(?:chat|call)|"
    r"chat|call|let'?s\s+talk|catch[- ]up|phone\s+screen|screen(?:ing)?(?:\s+call)?)\s*[?!.]*$",
    re.I,
)
_SENIORITY = {"senior", "sr", "junior", "jr", "staff", "principal", "founding", "i", "ii", "iii", "iv", "mid", "level",
              "the", "a", "an", "of", "and", "for", "in", "at", "with", "to", "contract", "remote", "hybrid", "temp",
              "temporary", "permanent", "full", "time", "part", "fulltime", "parttime", "freelance", "interim"}


# -- names and domains -----------------------------------------------------------------------


@lru_cache(maxsize=8192)
def normalize_company(name: str) -> str:
    """``"Cobalt & Finch, Inc."`` -> ``"cobaltfinch"``: the key companies are compared by."""
    n = _LEGAL.sub(" ", name.lower().replace("&", " "))
    return re.sub(r"[^a-z0-9]+", "", n)


@lru_cache(maxsize=8192)
def company_words(name: str) -> tuple[str, ...]:
    n = _LEGAL.sub(" ", name.lower().replace("&", " "))
    return tuple(w for w in re.split(r"[^a-z0-9]+", n) if w)


@lru_cache(maxsize=16384)
def registrable_domain(email: str) -> str:
    """The domain a company registered, from an address or ``"x@" + domain``.

    One label under the public suffix, by the Public Suffix List that publicsuffixlist ships
    (no download at run time): ``mail.acme.ne.jp`` -> ``acme.ne.jp``, ``rh.travail.gouv.fr`` ->
    ``travail.gouv.fr``, ``hr.tbs-sct.gc.ca`` -> ``tbs-sct.gc.ca``. A domain that is itself a
    public suffix or a single label (``localhost``) is returned as it is.

    >>> registrable_domain("jo@careers.acme.co.uk")
    'acme.co.uk'
    """
    return _registrable(email.rsplit("@", 1)[-1].lower().strip(". >"))


@lru_cache(maxsize=16384)
def _registrable(domain: str) -> str:
    domain = ".".join(label for label in domain.split(".") if label)
    if domain.startswith("[") or domain.replace(".", "").isdigit():  # an address literal or IPv4: no suffix
        return domain
    return _suffix_list().privatesuffix(domain) or domain


@lru_cache(maxsize=1)
def _suffix_list() -> Any:
    """The bundled Public Suffix List, parsed once (about 50 ms) and only when linking needs it."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@lru_cache(maxsize=8192)
def is_ats_domain(domain: str) -> bool:
    domain = domain.lower()
    labels = domain.split(".")
    if any(".".join(labels[i:]) in ATS_DOMAINS for i in range(len(labels))):
        return True
    label = registrable_domain("x@" + domain).split(".")[0]
    return any(label == b + suffix for b in _ATS_BRANDS for suffix in ("mail", "-mail", "hq", "-hq", "app", "jobs", "-jobs"))


def is_company_domain(email: str) -> bool:
    """True when the address's domain can identify a company (not an ATS, scheduler or free mail)."""
    if "@" not in email:
        return False
    return _is_company_domain(email.rsplit("@", 1)[-1].lower())


@lru_cache(maxsize=8192)
def _is_company_domain(domain: str) -> bool:
    reg = registrable_domain("x@" + domain)
    return not (is_ats_domain(domain) or reg in FREEMAIL_DOMAINS or reg.split(".")[0] in _GENERIC_LABELS)


def company_from_domain(email: str) -> str | None:
    if not is_company_domain(email):
        return None
    label = registrable_domain(email).split(".")[0]
    return " ".join(w.capitalize() for w in re.split(r"[-_]", label) if w)


def name_matches_domain(name: str, domain: str) -> bool:
    """Whether a company name and an e-mail domain plausibly belong together.

    The domain's first label must be the name squeezed (``northwind-analytics``), the first
    word followed by nothing, by the start of the rest (``kestrelpay``, ``corvidsec``), by its
    initials (``brightfieldmg``, ``lakeviewcc``) or by a short abbreviation (``halvorsentx``).
    A one-word name does not match a longer label (``apple`` is not ``applebee``).
    """
    label = re.sub(r"[^a-z0-9]", "", registrable_domain("x@" + domain).split(".")[0])
    if "&" in name and name_matches_domain(name.replace("&", " and "), domain):
        return True
    words = company_words(name)
    if not label or not words:
        return False
    if label == "".join(words):
        return True
    first, rest = words[0], words[1:]
    if len(first) < 4 or not label.startswith(first):
        return False
    tail = label[len(first):]
    if not tail:
        return True
    if not rest:
        return False
    joined = "".join(rest)
    initials = "".join(w[0] for w in rest)
    return (len(tail) >= 2 and joined.startswith(tail)) or tail == initials or len(tail) <= 3


def names_match(a: str, b: str) -> bool:
    """Same company name: equal keys, or one is the other's leading words (>= 5 letters).

    Not cached by pair (nor is :func:`name_matches_domain`): the parts are, and a cache of
    pairs saved 0.05 us a call while filling to 65,536 entries in a long run, memory
    fragmented for good (about 20 MB of ``bench/fuzz.py --store``'s peak)."""
    ka, kb = normalize_company(a), normalize_company(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    wa, wb = company_words(a), company_words(b)
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return len("".join(short)) >= 5 and long_[: len(short)] == short


_DEPT_SUFFIX = re.compile(
    r"\s*(?:[-|,:–]\s*)?\b(?:hiring\s+team|recruiting(?:\s+team)?|recruitment(?:\s+team)?|"
    r"talent(?:\s+acquisition)?(?:\s+team)?|careers?|jobs|hr|human\s+resources|people(?:\s+(?:team|ops|operations))?|"
    r"notifications?|no-?reply|scheduling|candidate\s+experience|team)$",
    re.I,
)


def _clean_company(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,.;:-–—|!?\"'")
    for _ in range(3):
        before = name
        name = re.sub(r"[\s,]+(?:sp\.?\s*z\s*o\.?\s*o\.?|gmbh|inc\.?|llc|ltd\.?|limited|ag|s\.?a\.?|b\.?v\.?|aps|a/s|as|ab|oy|"
                      r"s\.?r\.?l\.?|sarl|s\.?p\.?a\.?|plc|pty|pvt|corp\.?|co\.?)$", "", name, flags=re.I).strip(" ,.")
        name = _DEPT_SUFFIX.sub("", name).strip(" ,.-|")
        if name == before:
            break
    return name.strip(" ,.")


def _is_tool_or_generic(name: str) -> bool:
    n = re.sub(r"\s+", " ", name.lower()).strip()
    return not n or n in _TOOL_NAMES or normalize_company(n) in {normalize_company(t) for t in _TOOL_NAMES}


def _looks_like_person(name: str) -> bool:
    words = name.split()
    if not 2 <= len(words) <= 3 or _ORG_WORDS.search(name):
        return False
    return all(re.fullmatch(r"[A-ZÀ-Ý][a-zà-ÿ'’.-]+", w) for w in words)


# -- what one message says about its company and role ----------------------------------------


@dataclass
class Facts:
    """Company and role evidence read from one message."""

    counterpart: Address | None
    domain: str | None  # registrable domain that identifies a company, if any
    names: list[tuple[str, str]] = field(default_factory=list)  # (company name, source)
    role: str | None = None
    role_confident: bool = False
    agency: str | None = None
    client: str | None = None  # the company an agency recruiter writes about, when named
    haystack: str = ""  # subject and the start of the text, to find a known client named
    subject_key: str = ""

    def best_name(self) -> tuple[str | None, str]:
        """The name a new application gets, and where it came from."""
        if self.domain:
            for name, source in self.names:
                if name_matches_domain(name, self.domain):
                    return name, source
            company = company_from_domain("x@" + self.domain)
            return company, f"sender domain {self.domain}"
        for name, source in self.names:
            if not source.startswith("subject segment"):
                return name, source
        for name, source in self.names:
            return name, source
        return None, "no company found"


def counterpart_of(a: Analysis) -> Address | None:
    """Who the user corresponds with in this message: the sender, or for their own mail the
    first recipient."""
    if a.direction is Direction.OUT:
        return next(iter(a.to + a.cc), None)
    return a.sender


def _display_company(addr: Address | None) -> str | None:
    """The company in an ATS/scheduler display name ("Acme via Greenhouse", "Acme Careers"),
    or in a company mailbox's display name ("Acme University Human Resources")."""
    if addr is None or not addr.name:
        return None
    name = addr.name.strip().strip('"')
    if is_company_domain(addr.email):
        org = _clean_company(name)
        if org != name.strip(" ,.") or name_matches_domain(org, registrable_domain(addr.email)):
            if org and not _looks_like_person(org) and not _is_tool_or_generic(org):
                return org
        return None
    via = re.match(r"^(?P<x>.+?)\s+via\s+(?P<tool>[\w.-]+)$", name, re.I)
    if via:
        if any(via.group("tool").lower().startswith(b) for b in _BOARDS):
            return None  # "Ethan Brooks via LinkedIn": a person writing through a board
        name = via.group("x")
    for _ in range(3):
        stripped = re.sub(
            r"\s*(?:[-|,:–]\s*)?\b(?:hiring\s+team|recruiting(?:\s+team)?|recruitment(?:\s+team)?|"
            r"talent(?:\s+acquisition)?(?:\s+team)?|careers?|jobs|hr|human\s+resources|people(?:\s+(?:team|ops))?|"
            r"notifications?|no-?reply|scheduling|candidate\s+experience|team)$",
            "", name, flags=re.I,
        ).strip(" -|,:")
        if stripped == name:
            break
        name = stripped
    name = _clean_company(name)
    if _is_tool_or_generic(name) or _looks_like_person(name):
        return None
    return name


def _subject_company(subject: str) -> list[str]:
    s = _CAL_TAIL.sub("", _CAL_PREFIX.sub("", _SUBJECT_PREFIX.sub("", subject or "")))
    out = []
    for rx in _SUBJECT_COMPANY:
        m = rx.search(s)
        if m:
            c = _clean_company(_REQ_ID.sub("", m.group("c")))
            c = re.split(r"\s+(?:for|about|on|in|-|–|—)\s+", c)[0].strip(" ,.!?")
            if c and c.lower() not in ("the", "our", "a", "us", "you") and not _is_tool_or_generic(c):
                out.append(c)
    return out


def _segments(subject: str) -> list[str]:
    s = _CAL_TAIL.sub("", _CAL_PREFIX.sub("", _SUBJECT_PREFIX.sub("", subject or "")))
    s = re.sub(r"\s+(?:x|×)\s+\w+\s*$", "", s)  # "Loomwork x Maya"
    return [p.strip(" ?!.,") for p in _SEPARATORS.split(s) if p and p.strip(" ?!.,")]


def _role_from_text(text: str) -> str | None:
    t = _REQ_ID.sub("", text).strip()
    # "Panel Interview (Machine Learning Engineer)", "next steps (Marketing Data Lead)"
    m = re.match(r"^(?P<out>[^()]*)\((?P<in>[^()]+)\)\s*$", t)
    if m and _TITLE_WORDS.search(m.group("in")) and not _TITLE_WORDS.search(m.group("out")):
        t = m.group("in").strip()
    t = re.sub(r"^(?:next\s+steps?|update|following\s+up|checking\s+in|final\s+(?:stage|round))\s+(?:for|on|about|re)\s+(?:the\s+)?",
               "", t, flags=re.I)
    t = re.sub(r"^(?:application\s+(?:received|acknowledg(?:e)?ment|confirmation)\s+for\s+|your\s+application\s+for\s+|"
               r"application\s+for\s+|interview\s+for\s+|offer\s+for\s+|re\s+)", "", t, flags=re.I)
    m = re.match(r"^(?P<pre>[^,()]{2,40}?)\s+for\s+(?:the\s+|a\s+|an\s+|our\s+)?(?P<r>.+)$", t, flags=re.I)
    if m and not _TITLE_WORDS.search(m.group("pre")) and _TITLE_WORDS.search(m.group("r")):
        t = m.group("r")  # "Intervew for Product Designer", "Invitation for the Data Analyst"
    t = re.sub(r"^(?:applications?|interview|candidacy)\s*:?\s+(?=\S)", "", t, flags=re.I) if len(t.split()) > 2 else t
    t = re.sub(r"\s+at\s+" + _COMPANY_CHARS + r"\s*$", "", t)
    t = re.sub(r"\s+@\s+.*$", "", t)
    for _ in range(2):
        t = _ROLE_NOISE_TAIL.sub("", t).strip(" -–—,:")
    t = re.sub(r"^(?:quick\s+update\s+on\s+the\s+|update\s+on\s+the\s+|the\s+)", "", t, flags=re.I).strip()
    if not (3 <= len(t) <= 80) or not _TITLE_WORDS.search(t) or len(t.split()) > 9:
        return None
    if re.search(r"\b(?:your|you|we|our|thanks|thank|hello|hi)\b", t, re.I):
        return None
    return t


_ROLE_FILLER = {"interview", "interviews", "panel", "availability", "next", "step", "steps", "final", "stage", "round",
                "update", "position", "role", "opening", "invitation", "technical", "screen", "phone", "call", "offer",
                "intro", "introduction", "chat", "quick", "talk", "lets", "let", "s", "catch", "up", "coffee"}


def _strip_company(role: str, names: Sequence[str], domain: str | None) -> str:
    """"Brightloom Senior Product Engineer" -> "Senior Product Engineer" when Brightloom is the company."""
    words = role.split()
    for k in range(min(4, len(words) - 1), 0, -1):
        head = " ".join(words[:k]).rstrip(",:")
        key = normalize_company(head)
        if any(key == normalize_company(n) for n in names) or (domain and key == re.sub(r"[^a-z0-9]", "", domain.split(".")[0])):
            rest = " ".join(words[k:]).lstrip(",:- ")
            if _TITLE_WORDS.search(rest):
                return rest
    return role


def role_key(role: str) -> frozenset[str]:
    """Comparable core of a job title: words without seniority, parentheses and filler."""
    inner = re.search(r"\(([^)]*)\)", role)
    r = role.lower()
    if inner and _TITLE_WORDS.search(inner.group(1)) and not _TITLE_WORDS.search(re.sub(r"\([^)]*\)", " ", role)):
        r = inner.group(1).lower()
    r = re.sub(r"\([^)]*\)", " ", r)
    words = {w for w in re.split(r"[^a-z0-9]+", r) if w and w not in _SENIORITY and w not in _ROLE_FILLER}
    return frozenset(words)


def same_role(a: str, b: str) -> bool:
    ka, kb = role_key(a), role_key(b)
    if not ka or not kb:
        return True
    return ka <= kb or kb <= ka


def _signature_orgs(signature: str, people: frozenset[str] = frozenset()) -> list[str]:
    out = []
    lines = [ln.strip() for ln in (signature or "").splitlines() if ln.strip()][-6:]
    for ln in lines:
        if re.search(r"https?://|@|\+?\d[\d ().-]{6,}", ln) and "|" not in ln and "," not in ln:
            continue
        parts = re.split(r"\s*[|,·•]\s*|\s+[—–-]\s+", ln)
        for p in parts[1:] + [parts[0]]:
            p = _clean_company(p)
            if p.lower() in people:
                continue
            if not p or re.search(r"\d{3}", p) or _TITLE_WORDS.search(p) and not _ORG_WORDS.search(p):
                continue
            if 1 <= len(p.split()) <= 5 and re.match(r"[A-Z0-9]", p):
                out.append(p)
    return out


_BODY_ROLE = re.compile(
    r"\b(?:for|as)\s+(?:the|our|a|an)\s+(?P<r>[A-Z][\w/&,.() -]{2,70}?)\s+(?:position|role|opening|vacancy)\b"
    r"|\b(?:for|as)\s+(?P<r2>[A-Z][\w/&,.() -]{2,70}?)\s+(?:position|role|opening|vacancy)\b"
)


def read_facts(a: Analysis) -> Facts:
    """Everything one message says about its company and role (no database access)."""
    people: set[str] = set()
    for addr in (a.sender, *a.to, *a.cc):
        if addr is not None and addr.name:
            full = re.sub(r"^(\w[\w'’-]*),\s*(\w[\w'’-]*)$", r"\2 \1", addr.name.strip())
            people |= {full.lower(), full.split()[0].lower()}
    cp = counterpart_of(a)
    domain = registrable_domain(cp.email) if cp is not None and is_company_domain(cp.email) else None
    facts = Facts(counterpart=cp, domain=domain, subject_key=normalize_subject(a.subject))
    if a.company:
        facts.names.append((a.company, "extracted company"))
    display = _display_company(cp) if cp is not None else None
    if display:
        facts.names.append((display, f"display name {cp.name!r}" if cp else "display name"))
    for c in _subject_company(a.subject):
        facts.names.append((c, f"subject {a.subject!r}"))
    if a.direction is Direction.IN:
        for org in _signature_orgs(a.signature, frozenset(people)):
            facts.names.append((org, "signature"))
    segments = _segments(a.subject)
    known = [n for n, _ in facts.names]
    roles: list[str] = []
    for seg in segments:
        seg_clean = _REQ_ID.sub("", seg).strip()
        # "Senior Data Engineer, Northwind Analytics": a title followed by the company.
        m = re.match(r"^(?P<r>.+?),\s*(?P<c>[^,]+)$", seg_clean)
        if m and (any(names_match(m.group("c"), k) for k in known) or (domain and name_matches_domain(m.group("c"), domain))):
            seg_clean = m.group("r")
        role = _role_from_text(seg_clean)
        if role:
            roles.append(_strip_company(role, known, domain))
            continue
        if _NOISE_SEGMENT.match(seg_clean) or _is_tool_or_generic(seg_clean):
            continue
        if re.fullmatch(_COMPANY_CHARS, seg_clean) and seg_clean.lower() not in people and len(seg_clean) >= 3:
            facts.names.append((_clean_company(seg_clean), f"subject segment {seg_clean!r}"))
    if not roles:
        m = re.search(r"\b(?:for|about)\s+(?:the\s+|our\s+)?(?P<r>[^|@:()]+?)(?:\s+(?:role|position|opening))?\s*(?:\bat\b|\(|$)", _SUBJECT_PREFIX.sub("", a.subject or ""))
        if m:
            role = _role_from_text(m.group("r"))
            if role:
                roles.append(role)
    if a.role:
        roles.insert(0, a.role)
    if roles:
        facts.role = roles[0]
        facts.role_confident = True
    else:
        m = _BODY_ROLE.search((a.text or "")[:1500])
        if m:
            facts.role = _role_from_text(m.group("r") or m.group("r2"))
    # De-duplicate names, keeping the first source.
    seen: set[str] = set()
    uniq = []
    for n, src in facts.names:
        k = normalize_company(n)
        if k and k not in seen and not _is_tool_or_generic(n):
            seen.add(k)
            uniq.append((n, src))
    facts.names = uniq
    facts.agency = _agency_of(a, facts)
    facts.haystack = f"{a.subject}\n{(a.text or '')[:2000]}"
    if facts.agency:
        m = re.search(r"\bclient,?\s+(?:is\s+)?(?P<c>[A-Z][\w&'.-]+(?:\s+[A-Z][\w&'.-]+){0,3})", a.text or "") or re.search(
            r"\b(?:cv|resume|résumé|profile)\b[^.\n]{0,60}?\b(?:to|with)\s+(?P<c>[A-Z][\w&'.-]+(?:\s+[A-Z][\w&'.-]+){0,3})",
            a.text or "")
        candidates = ([m.group("c")] if m else []) + [n for n, src in facts.names if src.startswith("subject")]
        for c in candidates:
            c = _clean_company(c)
            if c and not names_match(c, facts.agency) and not (facts.domain and name_matches_domain(c, facts.domain)):
                facts.client = c
                break
    return facts


def _agency_of(a: Analysis, facts: Facts) -> str | None:
    """The agency's name when the counterpart is a recruiting agency speaking for a client:
    its domain or signature says so ("staffing", "recruiting", "executive search"), or the
    mail talks about "the client" / "my client"."""
    if facts.domain is None:
        return None
    org_names = [n for n, s in facts.names if s == "signature"]
    label = facts.domain.split(".")[0]
    agencyish = (bool(_AGENCY_WORDS.search(label)) or any(_AGENCY_WORDS.search(n) for n in org_names)
                 or bool(re.search(r"\b(?:employment|recruitment|recruiting|staffing|talent)\s+(?:agency|business|consultancy)\b",
                                   a.signature or "", re.I)))
    client = bool(_CLIENT.search(a.text or "")) or bool(_CLIENT.search(a.subject or ""))
    if not (agencyish or client):
        return None
    name, _ = facts.best_name()
    return name


# -- the linker ------------------------------------------------------------------------------


def _exists(store: Store, app_id: int | None) -> int | None:
    if app_id is None:
        return None
    row = store.db.execute("SELECT id FROM applications WHERE id = ?", [app_id]).fetchone()
    return int(row[0]) if row else _merged_target(store, app_id)


def _merged_target(store: Store, app_id: int, depth: int = 0) -> int | None:
    """Where an application the user merged away went (following chains of merges)."""
    if depth > 20:
        return None
    for c in _corrections(store, "merge"):
        if int(c.get("from", -1)) == app_id:
            into = int(c["into"])
            row = store.db.execute("SELECT id FROM applications WHERE id = ?", [into]).fetchone()
            return into if row else _merged_target(store, into, depth + 1)
    return None


def _corrections(store: Store, kind: str) -> list[dict[str, Any]]:
    rows = store.db.execute("SELECT payload FROM corrections WHERE kind = ? ORDER BY id", [kind]).fetchall()
    out = []
    for (payload,) in rows:
        try:
            out.append(json.loads(payload))
        except (TypeError, ValueError):
            log.warning("ignoring an unreadable %s correction", kind)
    return out


def _thread_ids(a: Analysis) -> list[str]:
    """Ancestors to look up, nearest first, without the message itself or repeats (loops)."""
    own = a.message_id
    ids: list[str] = []
    for mid in ([a.in_reply_to] if a.in_reply_to else []) + list(reversed(a.references[-100:])):
        if mid and mid != own and mid not in ids and len(mid) <= 998:
            ids.append(mid)
    return ids


def _by_thread(store: Store, a: Analysis) -> tuple[int | None, str]:
    ids = _thread_ids(a)
    if ids:
        marks = ",".join("?" * len(ids))
        rows = store.db.execute(
            f"SELECT message_id, application_id FROM messages WHERE message_id IN ({marks}) AND application_id IS NOT NULL",
            ids,
        ).fetchall()
        found = {r[0]: int(r[1]) for r in rows}
        for mid in ids:
            if mid in found:
                app = _exists(store, found[mid])
                if app is not None:
                    how = "In-Reply-To" if mid == a.in_reply_to else "References"
                    return app, f"thread: {how} {mid}"
    thrid = (a.headers or {}).get("x-gm-thrid", "").strip()
    if thrid:
        row = store.db.execute(
            "SELECT application_id FROM messages WHERE thread_hint = ? AND application_id IS NOT NULL AND key != ? LIMIT 1",
            [thrid, a.key],
        ).fetchone()
        if row and _exists(store, int(row[0])) is not None:
            return _exists(store, int(row[0])), f"thread: X-GM-THRID {thrid}"
    if a.message_id:
        # A reply processed before its parent names this message as an ancestor.
        row = store.db.execute(
            "SELECT m.application_id FROM thread_refs t JOIN messages m ON m.key = t.message_key "
            "WHERE t.ref = ? AND m.application_id IS NOT NULL AND m.key != ? ORDER BY m.date LIMIT 1",
            [a.message_id, a.key],
        ).fetchone()
        if row and _exists(store, int(row[0])) is not None:
            return _exists(store, int(row[0])), "thread: a reply already stored names this message"
    return None, ""


@dataclass
class _App:
    id: int
    company: str
    role: str | None
    closed: bool
    agency: str | None
    company_source: str | None
    name_locked: bool
    last: str


def _apps(store: Store) -> list[_App]:
    rows = store.rows(
        "SELECT a.id, a.company, a.role, a.closed, a.agency, a.company_source, a.name_locked, a.updated_at AS last "
        "FROM applications a ORDER BY a.id"
    )
    return [_App(int(r["id"]), r["company"], r["role"], bool(r["closed"]), r["agency"], r["company_source"],
                 bool(r["name_locked"]), str(r["last"] or "")) for r in rows]


def _latest(store: Store, cands: Sequence[_App]) -> _App:
    """The candidate with the most recent message (ties: the newest application)."""
    if len(cands) == 1:
        return cands[0]
    last = {}
    for c in cands:
        row = store.db.execute("SELECT max(date) FROM messages WHERE application_id = ?", [c.id]).fetchone()
        last[c.id] = (row[0] or "") if row else ""
    return max(cands, key=lambda c: (last[c.id], c.id))


def _apps_by_email(store: Store, email: str, key: str) -> set[int]:
    return _apps_where(store, {"counterpart": email.lower()}, key)


def _apps_by_domain(store: Store, domain: str, key: str) -> set[int]:
    return _apps_where(store, {"counterpart_domain": domain.lower()}, key)


#: The equalities :func:`_apps_where` reads, each the leading columns of an index whose next
#: column is application_id, with the condition a partial index needs to be used.
_APP_INDEXED: dict[tuple[str, ...], str] = {
    ("counterpart",): "",
    ("counterpart_domain",): "",
    ("counterpart", "subject_key"): "",
    ("sender_name",): " AND direction = 'in'",
}


def _apps_where(store: Store, equal: dict[str, str], key: str | None) -> set[int]:
    """The applications of the messages other than ``key`` (of all, for None) whose columns equal ``equal``.

    One index seek per application, not a read of every such message: ``SELECT DISTINCT`` read
    all of a company's messages (and each row, for ``key != ?``) for every message linked, so a
    backfill slowed with its own size (0.8 ms a message at 1,000 job messages, 4.5 ms at 10,000).
    The message itself is set aside afterwards, with one more seek when it is in the result.
    """
    columns = tuple(equal)
    if columns not in _APP_INDEXED:
        raise ValueError(f"not an indexed lookup: {columns}")
    where = " AND ".join(f"{c} = ?{i}" for i, c in enumerate(columns, 1)) + _APP_INDEXED[columns]
    values = list(equal.values())
    ids = {int(r[0]) for r in store.db.execute(
        "WITH RECURSIVE a(id) AS ("
        f" SELECT (SELECT min(application_id) FROM messages WHERE {where} AND application_id IS NOT NULL)"
        f" UNION ALL SELECT (SELECT min(application_id) FROM messages WHERE {where} AND application_id > a.id)"
        " FROM a WHERE a.id IS NOT NULL) SELECT id FROM a WHERE id IS NOT NULL", values).fetchall()}
    if key is None:
        return ids
    n = len(values)
    own = store.db.execute(f"SELECT application_id FROM messages WHERE key = ?{n + 1} AND {where}", [*values, key]).fetchone()
    if own is not None and own[0] is not None and int(own[0]) in ids and store.db.execute(
            f"SELECT 1 FROM messages WHERE {where} AND application_id = ?{n + 1} AND key != ?{n + 2} LIMIT 1",
            [*values, own[0], key]).fetchone() is None:
        ids.discard(int(own[0]))
    return ids


def _app_domains(store: Store) -> dict[int, set[str]]:
    """Each application's company domains (the registrable domains of its correspondents).

    Read per distinct domain (an index skip) and per application of a company domain, so the
    cost follows the number of companies, not of messages.
    """
    out: dict[int, set[str]] = {}
    for domain in _distinct(store, "counterpart_domain", "application_id IS NOT NULL"):
        if _is_company_domain(domain):
            registrable = registrable_domain("x@" + domain)
            for app_id in _apps_where(store, {"counterpart_domain": domain}, None):
                out.setdefault(app_id, set()).add(registrable)
    return out


#: (column, condition) pairs :func:`_distinct` reads: an index leads with the column, and a
#: partial one's condition is said in the query so the planner uses it.
_DISTINCT_INDEXED = frozenset({
    ("counterpart_domain", "application_id IS NOT NULL"),
    ("sender_name", "direction = 'in' AND application_id IS NOT NULL"),
})


def _distinct(store: Store, column: str, condition: str) -> list[str]:
    """The distinct non-null values of ``column`` among the messages that meet ``condition``,
    one index seek each (``SELECT DISTINCT`` reads every message)."""
    if (column, condition) not in _DISTINCT_INDEXED:
        raise ValueError(f"not an indexed column: {column} where {condition}")
    return [str(r[0]) for r in store.db.execute(
        "WITH RECURSIVE v(x) AS ("
        f" SELECT (SELECT min({column}) FROM messages WHERE {condition})"
        f" UNION ALL SELECT (SELECT min({column}) FROM messages WHERE {condition} AND {column} > v.x)"
        " FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL").fetchall()]


def _apps_by_contact_name(store: Store, a: Analysis, key: str) -> tuple[set[int], str]:
    """Applications whose contact (a person who wrote from a company address) is named here.

    Read per distinct name (an index skip over the names of people who wrote job mail), and
    the applications only of the names found here: reading every incoming job message for
    every scheduler's mail made a backfill slow with the length of the search.
    """
    hay = f"{a.subject}\n{(a.text or '')[:3000]}"
    ids: set[int] = set()
    names: set[str] = set()
    for stored in _distinct(store, "sender_name", "direction = 'in' AND application_id IS NOT NULL"):
        name = _contact_name(stored)
        if not name or name not in hay or not re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", hay):
            continue
        found = _apps_where(store, {"sender_name": stored}, key)
        if found:
            ids |= found
            names.add(name)
    return ids, ", ".join(sorted(names))


@lru_cache(maxsize=8192)
def _contact_name(name: str) -> str | None:
    """A person's full name usable for matching ("Wong, Priscilla" -> "Priscilla Wong"), or None."""
    name = re.sub(r"^(\w[\w'’-]*),\s*(\w[\w'’-]*)$", r"\2 \1", name.strip())
    if len(name.split()) < 2 or len(name) < 6 or _ORG_WORDS.search(name):
        return None
    return name


def link_message(store: Store, a: Analysis) -> int | None:
    """Return the application id for a job message, creating one when needed.

    Called inside :meth:`Store.write_batch`'s transaction after the message row is written;
    records the reason on ``messages.link_reason``.
    """
    key = a.key
    thrid = (a.headers or {}).get("x-gm-thrid", "").strip()
    cp = counterpart_of(a)
    email = cp.email.lower() if cp is not None and "@" in cp.email else None
    store.db.execute(
        "UPDATE messages SET thread_hint = ?, counterpart = ?, counterpart_domain = ? WHERE key = ?",
        [thrid[:64] or None, email, registrable_domain(email) if email else None, key],
    )
    for ref in _thread_ids(a):
        store.db.execute("INSERT OR IGNORE INTO thread_refs(ref, message_key) VALUES (?, ?)", [ref, key])
    app_id, reason, tie = _decide(store, a)
    store.db.execute("UPDATE messages SET link_reason = ?, sender_tie = ? WHERE key = ?", [reason[:300], tie, key])
    log.debug("message %s -> application %s (%s; sender tie: %s)", key, app_id, reason, tie)
    return app_id


#: How a message's sender is tied to its application's company (``messages.sender_tie``).
#: ``none``: nothing ties them; the digest marks such a sender.
SENDER_TIES = ("correction", "thread", "contact", "domain", "ats", "own", "none")


def _own_tie(a: Analysis, facts: Facts) -> str:
    """How a message that starts its own application is tied to the company it is filed under:
    its own company domain names it, an ATS or scheduler speaks for it, the user wrote it; a
    free-mail or unknown sender naming a company in words is tied to nothing."""
    if a.direction is Direction.OUT:
        return "own"
    if facts.domain:
        return "domain"
    cp = facts.counterpart
    if cp is not None and "@" in cp.email and is_ats_domain(cp.email.rsplit("@", 1)[-1]):
        return "ats"
    return "none"


def _tie_to(app: _App, a: Analysis, facts: Facts, domains: dict[int, set[str]], aliases: Sequence[tuple[str, int]],
            contacts: set[int]) -> str | None:
    """How this message's sender is tied to ``app``'s company, or ``None`` (a stranger to it).

    A message joins an application by its name (subject, display name, signature) only when the
    sender is tied to the company: the user's own mail, a known contact of the application, the
    company's own domain (one of the application's domains, or one its name or a name merged
    into it matches), or an ATS or scheduler, which speaks for whoever uses it. A name alone from
    a stranger's domain proves nothing: anyone can write "Acme" in a subject.
    """
    if a.direction is Direction.OUT:
        return "own"
    if app.id in contacts:
        return "contact"
    if facts.domain:
        names = [app.company] + [alias for alias, into in aliases if into == app.id]
        if facts.domain in domains.get(app.id, ()) or any(name_matches_domain(n, facts.domain) for n in names):
            return "domain"
        return None
    cp = facts.counterpart
    if cp is not None and "@" in cp.email and is_ats_domain(cp.email.rsplit("@", 1)[-1]):
        return "ats"
    return None


def _decide(store: Store, a: Analysis) -> tuple[int, str, str]:
    """The application, why, and how the sender is tied to it (one of :data:`SENDER_TIES`)."""
    key = a.key
    for c in _corrections(store, "split"):
        if key in c.get("message_keys", []):
            target = _exists(store, int(c["into"]))
            if target is not None:
                return target, "your correction (apps split)", "correction"
    app_id, reason = _by_thread(store, a)
    facts = read_facts(a)
    apps = {x.id: x for x in _apps(store)}
    if not facts.agency and facts.domain:
        # Mail from a domain already known as an agency's is the agency's, even without cues.
        known = [apps[i] for i in _apps_by_domain(store, facts.domain, key) if i in apps and apps[i].agency]
        if known:
            facts.agency = known[0].agency
            for n, src in facts.names:
                if src.startswith("subject") and not names_match(n, facts.agency or "") and not name_matches_domain(n, facts.domain):
                    facts.client = n
                    break
    if app_id is not None:
        if app_id in apps:
            _maybe_improve(store, apps[app_id], facts)
            if facts.role and not apps[app_id].role and not apps[app_id].name_locked:
                store.db.execute("UPDATE applications SET role = ? WHERE id = ?", [facts.role, app_id])
        return app_id, reason, "thread"

    agency_apps = {i for i, x in apps.items() if x.agency}

    # Same subject with the same counterpart: a reply whose parent never arrived.
    if facts.counterpart is not None and facts.subject_key and _SUBJECT_PREFIX.match(a.subject or ""):
        same = {i for i in _apps_where(store, {"counterpart": facts.counterpart.email.lower(),
                                                "subject_key": facts.subject_key}, key) if i in apps}
        if len(same) == 1:
            return same.pop(), f"same subject and correspondent ({facts.counterpart.email}); its parent never arrived", "contact"

    # Tiers of company evidence, strongest first; the first that finds anything decides. Each
    # tier knows how it ties the sender (the name tier: per application, see _tie_to).
    tiers: list[tuple[set[int], str]] = []
    ties: dict[str, str] = {}
    contacts = _apps_by_email(store, facts.counterpart.email, key) if facts.counterpart is not None else set()
    if facts.counterpart is not None and is_company_domain(facts.counterpart.email):
        tiers.append((set(contacts), f"same correspondent {facts.counterpart.email}"))
        ties[tiers[-1][1]] = "contact"
    if facts.domain and not facts.agency:
        ids = _apps_by_domain(store, facts.domain, key) - agency_apps
        tiers.append((ids, f"same company domain {facts.domain}"))
        ties[tiers[-1][1]] = "domain"
    name_hits: set[int] = set()
    name_reason = ""
    claims: dict[int, list[tuple[str, str]]] = {}  # application -> the names in this message that matched it
    aliases = [(c.get("company") or "", int(c["into"])) for c in _corrections(store, "merge") if c.get("company")]
    domains = _app_domains(store)
    for name, source in facts.names:
        for app in apps.values():
            if app.agency and not facts.agency:
                continue
            if names_match(name, app.company) or any(name_matches_domain(name, d) for d in domains.get(app.id, ())):
                name_hits.add(app.id)
                claims.setdefault(app.id, []).append((name, source))
                name_reason = name_reason or f"company {name!r} from {source}"
        for alias, into in aliases:
            target = _exists(store, into)
            if target is not None and names_match(name, alias):
                name_hits.add(target)
                claims.setdefault(target, []).append((name, source))
                name_reason = name_reason or f"company {name!r} (merged by you into #{target})"
    if facts.domain and not facts.agency:
        for app in apps.values():
            if not app.agency and name_matches_domain(app.company, facts.domain):
                name_hits.add(app.id)
                name_reason = name_reason or f"domain {facts.domain} matches {app.company!r}"
    name_ties = {i: _tie_to(apps[i], a, facts, domains, aliases, contacts) for i in name_hits if i in apps}
    strangers = sorted(i for i, tie in name_ties.items() if tie is None)
    tiers.append(({i for i, tie in name_ties.items() if tie is not None}, name_reason))
    sender_email = a.sender.email if a.sender else ""
    if a.direction is Direction.IN and "@" in sender_email and is_ats_domain(sender_email.rsplit("@", 1)[-1]):
        # a scheduler's confirmation naming a person of the company ("Phone Screen with Sam Okoro")
        ids, names = _apps_by_contact_name(store, a, key)
        tiers.append((ids, f"names your contact {names}"))
        ties[tiers[-1][1]] = "ats"

    everything: set[int] = set()
    for ids, _why in tiers:
        everything |= {i for i in ids if i in apps and (apps[i].agency or not facts.agency) and (not facts.agency or apps[i].agency)}
    for ids, why in tiers:
        ids = {i for i in ids if i in apps}
        if facts.agency:
            ids = {i for i in ids if apps[i].agency}
        if not ids:
            continue
        def tie(i: int, why: str = why) -> str:
            return ties.get(why) or name_ties.get(i) or _own_tie(a, facts)

        if facts.role and facts.role_confident and not any(apps[i].role is None or same_role(apps[i].role or "", facts.role) for i in ids):
            # The closest evidence knows no application with this role; another one of the
            # same company may (the recruiter who wrote about role A now writes about role B).
            wider = [apps[i] for i in everything - ids if apps[i].role and same_role(apps[i].role or "", facts.role)]
            if wider:
                best = _latest(store, wider)
                _maybe_improve(store, best, facts)
                return best.id, f"{why}; role {facts.role!r} matches #{best.id}", tie(best.id)
        if facts.agency:
            # An agency writes for several clients: the client named decides.
            named = [i for i in ids if _client_named(apps[i].company, facts)]
            if len(named) == 1:
                return named[0], f"{why}; client {apps[named[0]].company!r} named", tie(named[0])
            if facts.client and not named:
                new_id, new_why = _create(store, facts, reason=f"{why}; agency recruiter writing about another client ({facts.client})")
                return new_id, new_why, _own_tie(a, facts)
        chosen, why2 = _choose_by_role(store, [apps[i] for i in ids], facts, a)
        if chosen is not None:
            _maybe_improve(store, apps[chosen], facts)
            return chosen, f"{why}{'; ' + why2 if why2 else ''}", tie(chosen)
        # The company is known but no application fits: a new one, with the reason.
        first_app = apps[min(ids)]
        if facts.agency and first_app.agency:
            facts.agency = first_app.agency
        new_id, new_why = _create(store, facts, company_hint=first_app.company, reason=f"{why}; {why2}")
        return new_id, new_why, tie(first_app.id)
    if strangers:
        # The message names a company the user applied to, from an address nothing ties to it:
        # its own application (the user merges it if it belongs), never a change to theirs.
        sender = facts.counterpart.email if facts.counterpart is not None else "an unknown sender"
        names = ", ".join(f"#{i} {apps[i].company}" for i in strangers[:3])
        new_id, _ = _create(store, facts)
        why = (f"new: names {names} but writes from {sender}, which nothing ties to that company (not its domain, "
               f"its ATS, its thread or a known contact); if it belongs there: offerwatch apps merge {strangers[0]} {new_id}")
        store.db.execute("UPDATE applications SET link_reason = ? WHERE id = ?", [why[:300], new_id])
        # A claim is a name a reader takes for the sender's company (subject, display name, the
        # company read from the text); a signature line that looks like a company is not one. A
        # claim the sender's own domain does not back is what the digest marks.
        claimed = [n for i in strangers for n, src in claims.get(i, []) if not src.startswith("signature")]
        backed = facts.domain is not None and any(name_matches_domain(n, facts.domain) for n in claimed)
        return new_id, why, "none" if claimed and not backed else _own_tie(a, facts)
    new_id, new_why = _create(store, facts)
    return new_id, new_why, _own_tie(a, facts)


def _choose_by_role(store: Store, cands: Sequence[_App], facts: Facts, a: Analysis) -> tuple[int | None, str]:
    """Pick the application of one company that this message is about, or None for a new one."""
    if facts.role and facts.role_confident:
        same = [c for c in cands if c.role and same_role(c.role, facts.role)]
        if same:
            return _latest(store, same).id, ""
        unnamed = [c for c in cands if not c.role]
        if unnamed:
            target = _latest(store, unnamed)
            if not target.name_locked:
                store.db.execute("UPDATE applications SET role = ?, updated_at = ? WHERE id = ?", [facts.role, utcnow(), target.id])
            return target.id, f"role {facts.role!r} named"
        others = ", ".join(f"#{c.id} {c.role}" for c in cands)
        return None, f"a different role ({facts.role!r}) than {others}"
    if facts.agency:
        return None, "agency recruiter representing several companies; no thread and no matching role"
    if len(cands) == 1:
        if facts.role and not cands[0].role and not cands[0].name_locked:
            store.db.execute("UPDATE applications SET role = ?, updated_at = ? WHERE id = ?", [facts.role, utcnow(), cands[0].id])
        return cands[0].id, ""
    open_ = [c for c in cands if not c.closed]
    if len(open_) == 1:
        return open_[0].id, "the company's only open application"
    if facts.counterpart is not None:
        by_contact = {i for i in _apps_by_email(store, facts.counterpart.email, a.key) if i in {c.id for c in cands}}
        if len(by_contact) == 1:
            return by_contact.pop(), "the correspondent's application"
    ids = ", ".join(f"#{c.id}" for c in cands)
    return None, f"the company has several applications ({ids}) and the message names no role"


def _maybe_improve(store: Store, app: _App, facts: Facts) -> None:
    """Give an application named after its domain a better name once one is seen."""
    if app.name_locked or app.company_source not in ("domain", "none", None):
        return
    domains = _app_domains(store).get(app.id, set()) | ({facts.domain} if facts.domain else set())
    for name, source in facts.names:
        on_domain = any(name_matches_domain(name, d) for d in domains)
        if source.startswith("subject segment") and not on_domain:
            continue
        if names_match(name, app.company) or on_domain:
            if normalize_company(name) != normalize_company(app.company) or name != app.company:
                better = len(name.split()) >= len(app.company.split())
                if better and name != app.company:
                    store.db.execute(
                        "UPDATE applications SET company = ?, company_source = ?, updated_at = ? WHERE id = ?",
                        [name, _source_kind(source), utcnow(), app.id],
                    )
            return


def _source_kind(source: str) -> str:
    for k in ("display", "subject segment", "subject", "signature", "sender domain", "extracted"):
        if source.startswith(k):
            return {"sender domain": "domain", "subject segment": "subject"}.get(k, k)
    return "none"


def _client_named(company: str, facts: Facts) -> bool:
    if facts.client:
        return names_match(company, facts.client)
    words = [w for w in company.split() if len(w) >= 4]
    return bool(words) and re.search(r"(?<!\w)" + re.escape(words[0]) + r"(?!\w)", facts.haystack) is not None


def _create(store: Store, facts: Facts, *, company_hint: str | None = None, reason: str = "") -> tuple[int, str]:
    name, source = facts.best_name()
    if facts.agency and facts.client and company_hint is None:
        name, source = facts.client, "the client the agency names"
    company = company_hint or name
    if company is None:
        company, source = "Unknown company", "none"
        why = "no thread and no company named in the message"
    else:
        why = f"new: company from {source}"
    if facts.agency and company == facts.agency:
        why += f"; {facts.agency} is a recruiting agency (client not named: rename with `offerwatch apps rename`)"
    elif facts.agency:
        why += f"; through the recruiting agency {facts.agency}"
    if reason:
        why = f"new: {reason}"
    app_id = store.create_application(company, facts.role if facts.role_confident else None, why[:300])
    store.db.execute(
        "UPDATE applications SET company_source = ?, agency = ? WHERE id = ?",
        [_source_kind(source) if company_hint is None else "linked", facts.agency, app_id],
    )
    return app_id, why


# -- corrections -----------------------------------------------------------------------------


class CorrectionError(ValueError):
    """A correction cannot be applied; the message says why and what to do."""


def _record(store: Store, kind: str, payload: dict[str, Any]) -> None:
    store.db.execute(
        "INSERT INTO corrections(kind, payload, created_at) VALUES (?, ?, ?)",
        [kind, json.dumps(payload, default=str), utcnow()],
    )


def _app_row(store: Store, app_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM applications WHERE id = ?", [app_id])
    if not rows:
        raise CorrectionError(f"there is no application #{app_id}: `offerwatch apps` lists them")
    return rows[0]


def _move(store: Store, keys: Iterable[str] | None, src: int, dst: int) -> None:
    """Move messages (all of ``src``'s when ``keys`` is None) with their facts to ``dst``."""
    if keys is None:
        for table in ("messages", "signals", "events", "salaries"):
            col = "application_id"
            store.db.execute(f"UPDATE {table} SET {col} = ? WHERE {col} = ?", [dst, src])
        return
    for k in keys:
        store.db.execute("UPDATE messages SET application_id = ? WHERE key = ?", [dst, k])
        for table in ("signals", "events", "salaries"):
            store.db.execute(f"UPDATE {table} SET application_id = ? WHERE message_key = ?", [dst, k])


def merge_applications(store: Store, keep: int, other: int, *, reassess: bool = True) -> int:
    """Merge application ``other`` into ``keep``; returns ``keep``.

    Every message, signal, event and salary moves; ``other`` is deleted and remembered, so a
    later message about it (by thread or by its company name) lands in ``keep``.
    """
    if keep == other:
        raise CorrectionError("cannot merge an application into itself: give two different ids")
    _app_row(store, keep)
    gone = _app_row(store, other)
    with store.atomic():
        _move(store, None, other, keep)
        store.db.execute("DELETE FROM signals WHERE application_id = ? AND derived = 1", [keep])
        # an offer (models.offers) follows its mail; keep's own offer, if any, wins
        store.db.execute("UPDATE OR IGNORE offers SET application_id = ? WHERE application_id = ?", [keep, other])
        store.db.execute("DELETE FROM offers WHERE application_id = ?", [other])
        store.db.execute("DELETE FROM applications WHERE id = ?", [other])
        _record(store, "merge", {"from": other, "into": keep, "company": gone["company"], "role": gone["role"]})
        store.db.execute("UPDATE applications SET updated_at = ? WHERE id = ?", [utcnow(), keep])
    if reassess:
        _reassess(store, [keep])
    return keep


def split_application(
    store: Store, app_id: int, message_keys: Sequence[str], *, company: str | None = None, role: str | None = None,
    reassess: bool = True,
) -> int:
    """Move the given messages of ``app_id`` to a new application; returns its id.

    The moved messages stay pinned there even if they are linked again; replies to them follow
    by thread.
    """
    src = _app_row(store, app_id)
    keys = list(dict.fromkeys(message_keys))
    if not keys:
        raise CorrectionError("name the messages to split off (see `offerwatch app ID` for their numbers)")
    have = {r[0] for r in store.db.execute("SELECT key FROM messages WHERE application_id = ?", [app_id]).fetchall()}
    missing = [k for k in keys if k not in have]
    if missing:
        raise CorrectionError(f"message {missing[0]!r} is not in application #{app_id}: `offerwatch app {app_id}` lists its messages")
    if set(keys) == have:
        raise CorrectionError("that would move every message: rename the application instead")
    with store.atomic():
        new_id = store.create_application(company or src["company"], role if role is not None else src["role"],
                                          f"split from #{app_id} by you")
        store.db.execute("UPDATE applications SET company_source = 'user', name_locked = ? WHERE id = ?",
                         [int(bool(company or role)), new_id])
        _move(store, keys, app_id, new_id)
        _record(store, "split", {"from": app_id, "into": new_id, "message_keys": keys})
    if reassess:
        _reassess(store, [app_id, new_id])
    return new_id


def rename_application(store: Store, app_id: int, *, company: str | None = None, role: str | None = None) -> None:
    """Set the company and/or role; automatic linking never overwrites them afterwards."""
    _app_row(store, app_id)
    if not (company or role is not None):
        raise CorrectionError("give --company and/or --role")
    with store.atomic():
        if company:
            store.db.execute("UPDATE applications SET company = ?, company_source = 'user' WHERE id = ?", [company.strip(), app_id])
        if role is not None:
            store.db.execute("UPDATE applications SET role = ? WHERE id = ?", [role.strip() or None, app_id])
        store.db.execute("UPDATE applications SET name_locked = 1, updated_at = ? WHERE id = ?", [utcnow(), app_id])
        _record(store, "rename", {"app": app_id, "company": company, "role": role})


#: Stages a user may close an application with.
CLOSE_STAGES = ("withdrawn", "rejected", "offer", "on_hold", "ghosted")


def close_application(store: Store, app_id: int, *, stage: str = "withdrawn", reopen: bool = False, reassess: bool = True) -> None:
    """Close an application with a final stage (default ``withdrawn``), or reopen it."""
    _app_row(store, app_id)
    if not reopen and stage not in CLOSE_STAGES:
        raise CorrectionError(f"unknown stage {stage!r}: use one of {', '.join(CLOSE_STAGES)}")
    with store.atomic():
        if reopen:
            now = utcnow()  # the reopening restarts the cold and ghosted counts (models.cold)
            store.db.execute("UPDATE applications SET closed = 0, stage_override = NULL, reopened_at = ?, updated_at = ? WHERE id = ?",
                             [now, now, app_id])
        else:
            store.db.execute("UPDATE applications SET closed = 1, stage_override = ?, updated_at = ? WHERE id = ?", [stage, utcnow(), app_id])
        _record(store, "reopen" if reopen else "close", {"app": app_id, "stage": None if reopen else stage})
    if reassess:
        _reassess(store, [app_id])


def _reassess(store: Store, ids: list[int]) -> None:
    from offerwatch.models.timeline import assess

    assess(store, ids)
