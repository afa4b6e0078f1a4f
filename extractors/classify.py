"""Is a message part of the owner's job search? With a reason a person can check.

Job mail: applicant tracking systems, interview-scheduling tools, recruiters and hiring
managers writing personally (also through LinkedIn InMail), and the owner's own mail to them.
Not job mail: job alerts, newsletters and marketing (bulk headers), agency blasts and
scams for roles never applied to, and the many other worlds that say "interview", "offer",
"application" or "reschedule" (podcasts, conferences, landlords, dentists, airlines, shops).

The decision is a short sequence of checks over data in ``patterns/classify.toml``: sender
domain, relay and bulk headers, then a vocabulary score. No spaCy here: it is fast and has
no model to load.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from offerwatch.models.domain import Address, Direction

DATA_FILE = Path(__file__).with_name("patterns") / "classify.toml"
#: Job-mail score at which personal mail counts as job mail.
THRESHOLD = 3


@dataclass(frozen=True)
class JobDecision:
    is_job: bool
    reason: str  # human-readable, shown by `offerwatch scan`
    #: False when the text itself speaks against job mail (non-job vocabulary, account mail, a
    #: friend's news): context (thread, known contact) may then not overturn a "no".
    open_to_context: bool = True


@dataclass(frozen=True)
class _Vocab:
    weight: int
    patterns: tuple[re.Pattern[str], ...]
    sources: tuple[str, ...]
    #: per pattern, lower-case strings of which every match contains one (None: none known): the
    #: pattern only runs where the text holds one, substring tests instead of a regex scan
    literals: tuple[tuple[str, ...] | None, ...] = ()


@dataclass(frozen=True)
class _Data:
    ats: tuple[str, ...]
    scheduling: tuple[str, ...]
    job_boards: tuple[str, ...]
    freemail: frozenset[str]
    relay_personal: tuple[str, ...]
    workplace: tuple[str, ...]
    alerts: tuple[str, ...]
    bulk_precedence: frozenset[str]
    vocab: dict[str, _Vocab]


class ClassifierDataError(ValueError):
    """classify.toml is broken; the message names the key and the problem."""


@lru_cache(maxsize=1)
def load_data(path: Path = DATA_FILE) -> _Data:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ClassifierDataError(f"{path}: cannot read classifier data: {err}") from err
    problems: list[str] = []

    def strings(section: str, key: str) -> tuple[str, ...]:
        value = raw.get(section, {}).get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{path.name}: [{section}] {key} must be a list of strings")
            return ()
        return tuple(v.lower() for v in value)

    vocab: dict[str, _Vocab] = {}
    for name, section in raw.get("vocab", {}).items():
        pats: list[re.Pattern[str]] = []
        for src in section.get("patterns", []):
            try:
                pats.append(re.compile(src, re.I))
            except re.error as err:
                problems.append(f"{path.name}: [vocab.{name}] pattern {src!r}: {err}")
        if not isinstance(section.get("weight"), int):
            problems.append(f"{path.name}: [vocab.{name}] weight must be an integer")
        sources = tuple(section.get("patterns", []))
        vocab[name] = _Vocab(int(section.get("weight", 0)), tuple(pats), sources,
                             tuple(required_literal(src) for src in sources))
    for required in ("receipt", "strong", "weak", "non_job", "blast"):
        if required not in vocab:
            problems.append(f"{path.name}: missing [vocab.{required}]")
    data = _Data(
        ats=strings("domains", "ats"),
        scheduling=strings("domains", "scheduling"),
        job_boards=strings("domains", "job_boards"),
        freemail=frozenset(strings("domains", "freemail")),
        relay_personal=strings("senders", "relay_personal"),
        workplace=strings("senders", "workplace"),
        alerts=strings("senders", "alerts"),
        bulk_precedence=frozenset(strings("headers", "bulk_precedence")),
        vocab=vocab,
    )
    if problems:
        raise ClassifierDataError("invalid classifier data:\n  " + "\n  ".join(problems))
    return data


def contact_keys(email: str) -> tuple[str, ...]:
    """What identifies a correspondent: the address, and its domain when that names a company
    (not free mail, an ATS, a scheduler or a job board, which many unrelated senders share).

    >>> contact_keys("Priya.Raman@corvane.com"), contact_keys("jess@gmail.com"), contact_keys("no-reply@corvane.com")
    (('priya.raman@corvane.com', 'corvane.com'), ('jess@gmail.com',), ('no-reply@corvane.com',))
    """
    email = email.strip().lower()
    if "@" not in email:
        return ()
    domain = email.rpartition("@")[2]
    data = load_data()
    if (not domain or is_automated_sender(email) or domain in data.freemail or _domain_in(domain, data.ats) or _domain_in(domain, data.scheduling)
            or _domain_in(domain, data.job_boards)):
        return (email,)
    return (email, domain)


def _domain_in(domain: str, domains: Sequence[str]) -> str | None:
    for d in domains:
        if domain == d or domain.endswith("." + d):
            return d
    return None


def _hits(v: _Vocab, text: str, low: str) -> list[str]:
    """The words each matching pattern found (one per pattern), for a reason a person can read
    (``low`` is ``text.lower()``: a pattern whose required literal is absent is not run)."""
    out = []
    for pat, lits in zip(v.patterns, v.literals, strict=True):
        if lits is not None and not any(x in low for x in lits):
            continue
        m = pat.search(text)
        if m:
            out.append(matched_words(text, m))
    return out


def matched_words(text: str, m: re.Match[str]) -> str:
    """The whole words around a match: "reschedul" in a pattern shows as "rescheduling".

    >>> matched_words("We must reschedule.", re.search("reschedul", "We must reschedule."))
    'reschedule'
    """
    start, end = m.start(), m.end()
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[start:end]


def required_literal(source: str) -> tuple[str, ...] | None:
    """Lower-case strings of which every match of a regex contains at least one (its longest
    plain run, or one per alternative of a group it must match), or None when none is known
    (then the regex always runs).

    >>> required_literal(r"\\bsalary expectations?"), required_literal(r"\\b(call|chat)\\b")
    (('salary expectation',), ('call', 'chat'))
    """
    import re._parser as sre_parse  # the stdlib's own regex parser

    try:
        tree = sre_parse.parse(source)
    except (re.error, ValueError, OverflowError, RecursionError):
        return None
    run = _longest_run(list(tree))
    if len(run) >= 3:
        return (run.lower(),)
    found = _branch_literals(list(tree))
    return tuple(a.lower() for a in found) if found else None


def _branch_literals(items: list[Any]) -> list[str] | None:
    """One literal per alternative of a group the pattern must match (its common prefix
    included: the parser factors "(call|chat)" into "c" + "(all|hat)")."""
    prefix: list[str] = []
    for op, av in items:  # literals, then a branch: "c" + (all|hat|onversation)
        if str(op) == "LITERAL":
            prefix.append(chr(av))
        elif str(op) == "BRANCH":
            return _alternatives("".join(prefix), av[1])
        else:
            prefix = []
    for op, av in items:
        if str(op) == "SUBPATTERN":
            got = _branch_literals(list(av[-1]))
            if got:
                return got
    return None


def _alternatives(prefix: str, branches: list[Any]) -> list[str] | None:
    out = []
    for b in branches:
        items = list(b)
        lead = []
        for op, av in items:
            if str(op) != "LITERAL":
                break
            lead.append(chr(av))
        alt = prefix + "".join(lead) if lead else _longest_run(items)
        if len(alt) < 2:
            return None
        out.append(alt)
    return out or None


def _longest_run(items: list[Any]) -> str:
    best, run = "", []
    for op, av in items:
        if str(op) == "LITERAL":
            run.append(chr(av))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    if len(run) > len(best):
        best = "".join(run)
    return best


def _sequence_literals(items: list[Any]) -> list[str] | None:
    """Lower-case strings of which every match of this sequence of regex items contains one:
    its longest plain run (3+ characters), else the literals of a group it must match, each
    alternative of which has its own (found the same way, to any depth). None: none known."""
    run = _longest_run(items)
    if len(run) >= 3:
        return [run.lower()]
    for op, av in items:
        name = str(op)
        if name == "SUBPATTERN":
            got = _sequence_literals(list(av[-1]))
        elif name == "BRANCH":
            got = _any_branch_literals(av[1])
        else:
            continue  # optional or variable items (repeats, classes, anchors) promise nothing
        if got:
            return got
    return None


def _any_branch_literals(branches: list[Any]) -> list[str] | None:
    out: list[str] = []
    for b in branches:
        got = _sequence_literals(list(b))
        if not got:
            return None  # an alternative without a literal: any text may match
        out.extend(got)
    return out


class Prefiltered:
    """A regex searched only when the text holds one of the strings its every match contains
    (:func:`_sequence_literals`): the classifier's whole-body regexes start with ``\\b`` and an
    alternation, which the regex engine tries at every position of 20 KB of text (0.14 ms a
    message for the account-mail pattern); ``str.__contains__`` rules most mail out first."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        import re._parser as sre_parse  # the stdlib's own regex parser

        self.pattern = pattern
        found = _sequence_literals(list(sre_parse.parse(pattern.pattern, pattern.flags)))
        self.literals: tuple[str, ...] | None = tuple(dict.fromkeys(found)) if found else None

    def search(self, text: str, low: str | None = None) -> re.Match[str] | None:
        """``pattern.search(text)``; ``low`` is ``text.lower()`` when the caller has it."""
        if self.literals is not None:
            low = text.lower() if low is None else low
            if not any(x in low for x in self.literals):
                return None
        return self.pattern.search(text)


class _Lazy:
    """The vocabulary of one message, scanned only when a decision needs it: mail from an ATS
    or a job board is decided by its sender, a bulk header or its receipt wording, and never
    pays for the full score."""

    def __init__(self, data: _Data, body: str) -> None:
        self.data, self.body, self.low = data, body, body.lower()
        self._receipt: bool | None = None
        self._scored: tuple[int, dict[str, list[str]]] | None = None

    def receipt(self) -> bool:
        if self._receipt is None:
            self._receipt = bool(_hits(self.data.vocab["receipt"], self.body, self.low))
        return self._receipt

    def any_job_word(self) -> bool:
        """Is there any strong or weak job word in the first 2,000 characters (stops at the
        first)? Only the reason given for bulk mail depends on it, not the decision."""
        if self._scored is not None:
            return bool(self._scored[1].get("strong") or self._scored[1].get("weak"))
        body, low = self.body[:2000], self.low[:2000]
        for name in ("weak", "strong"):  # the common words first: any match ends the search
            v = self.data.vocab[name]
            for pat, lits in zip(v.patterns, v.literals, strict=True):
                if (lits is None or any(x in low for x in lits)) and pat.search(body):
                    return True
        return False

    def scored(self) -> tuple[int, dict[str, list[str]]]:
        if self._scored is None:
            self._scored = _score(self.data, self.body, self.low)
        score, found = self._scored
        return score, found


def _score(data: _Data, text: str, low: str) -> tuple[int, dict[str, list[str]]]:
    total = 0
    found: dict[str, list[str]] = {}
    for name in ("strong", "weak", "non_job", "blast"):
        v = data.vocab[name]
        hits = _hits(v, text, low)
        if hits:
            found[name] = hits
            if name == "weak":
                total += min(len(hits), 4) * v.weight
            elif name == "strong":
                total += min(len(hits), 3) * v.weight
            else:
                total += len(hits) * v.weight
    return total, found


def _short(found: dict[str, list[str]], key: str) -> str:
    """Up to three of the words found, quoted, each once: '"recruiter", "other offers"'."""
    words = dict.fromkeys(" ".join(x.split()).lower()[:40] for x in found.get(key, []))
    return ", ".join(f'"{w}"' for w in list(words)[:3])


def classify(
    *,
    sender: Address | None,
    subject: str,
    text: str,
    headers: Mapping[str, str],
    direction: Direction,
    has_calendar: bool,
    recipients: Sequence[Address],
    signature: str = "",
    owner_domains: Collection[str] = (),
) -> JobDecision:
    """Decide whether a message belongs to the job search, and say why.

    ``headers`` has lower-cased names; ``text`` is the newest reply without signature; the
    optional ``signature`` adds the sender's title ("Senior Recruiter") as evidence.
    ``owner_domains`` are the domains of the owner's own addresses: mail from someone else at
    the owner's domain comes from their mail provider or their current workplace, never from
    a recruiter, so it is weighed like free mail.

    >>> from offerwatch.models.domain import Address, Direction
    >>> classify(sender=Address("Acme", "no-reply@us.greenhouse-mail.io"), subject="Thanks for applying",
    ...          text="We received your application.", headers={}, direction=Direction.IN,
    ...          has_calendar=False, recipients=()).reason
    'ATS sender domain greenhouse-mail.io'
    """
    if is_own_digest(headers):
        return JobDecision(False, "offerwatch's own digest: never read back as mail", False)
    data = load_data()
    email = (sender.email if sender else "").lower()
    name = (sender.name if sender else "").lower()
    local, _, domain = email.rpartition("@")
    personal = data.freemail | frozenset(owner_domains) if owner_domains else data.freemail
    # one space for every run of whitespace: phrases wrapped over two lines still match
    body = " ".join(f"{subject or ''}\n{(text or '')[:20000]}\n{(signature or '')[:1000]}".split())
    vocab = _Lazy(data, body)
    low = vocab.low
    relay = any(r in local or r in name or r in (subject or "").lower() for r in data.relay_personal)
    precedence = headers.get("precedence", "").strip().lower()
    bulk_why = (
        "List-Unsubscribe" if headers.get("list-unsubscribe") else
        "List-Id" if headers.get("list-id") else
        f"Precedence: {precedence}" if precedence in data.bulk_precedence else ""
    )

    if direction == Direction.OUT:
        score, found = vocab.scored()
        private = [r for r in recipients if r.email.lower().rpartition("@")[2] in personal]
        forward = bool(re.match(r"^\s*(fwd?|fw|wg|tr|rv)\s*:", subject or "", re.I))
        if forward and recipients and len(private) == len(recipients):
            return JobDecision(False, "owner forwarded a message to a private address")
        if REPLY_SUBJECT.match(subject or "") and recipients and not private:
            score += 1  # a reply to someone at a company
        if score >= 2:
            return JobDecision(True, f"owner's mail about a job ({_short(found, 'strong') or _short(found, 'weak')})")
        return JobDecision(False, "owner's mail without job vocabulary")

    if _OWN_PROCESS_STRONG.search(body, low) and not vocab.receipt() and not ats_or_tool(domain, data):
        return JobDecision(False, "private mail about someone's own job search", False)
    tool = _domain_in(domain, data.workplace)
    if tool:
        return JobDecision(False, f"workplace tool digest from {tool}: the owner's current job", False)
    if _ACCOUNT.search(f"{subject or ''}\n{(text or '')[:3000]}"):
        return JobDecision(False, "account mail (password, login link or code): not about an application", False)
    ats = _domain_in(domain, data.ats)
    service = ats or _domain_in(domain, data.scheduling)
    if service and _MARKETING_MAILBOX.match(local):
        return JobDecision(False, f"{service}'s own newsletter or marketing ({local}@)", False)
    if ats:
        return JobDecision(True, f"ATS sender domain {ats}")
    board = _domain_in(domain, data.job_boards)
    if board:
        if relay:
            return JobDecision(True, f"recruiter's personal message relayed by {board}")
        if vocab.receipt():
            return JobDecision(True, f"application confirmation from job board {board}")
        return JobDecision(False, f"job board notification from {board} (alerts, marketing)")
    sched = _domain_in(domain, data.scheduling)
    if sched:
        score, found = vocab.scored()
        if found.get("non_job") and score < THRESHOLD:
            return JobDecision(False, f"scheduling tool {sched}, but not about a job ({_short(found, 'non_job')})")
        return JobDecision(True, f"interview scheduling sender domain {sched}")
    if bulk_why:
        if vocab.receipt():
            return JobDecision(True, f"bulk mail ({bulk_why}) confirming an application")
        if relay:
            return JobDecision(True, f"bulk mail ({bulk_why}) relaying a recruiter's personal message")
        if vocab.any_job_word():
            return JobDecision(False, f"bulk mail ({bulk_why}) with job-alert vocabulary")
        return JobDecision(False, f"bulk mail ({bulk_why}): newsletter or marketing")
    score, found = vocab.scored()  # every decision from here on weighs the vocabulary
    if found.get("blast") and REPLY_SUBJECT.match(subject or ""):
        # A person answering in a thread that began as an agency blast ("Re: URGENT requirement
        # - Java dev (C2C)"): the subject is the blast's, the reply is judged by its own words.
        inner = _Lazy(data, " ".join(f"{(text or '')[:20000]}\n{(signature or '')[:1000]}".split()))
        if not inner.scored()[1].get("blast"):
            vocab = inner
            score, found = vocab.scored()
    receipt = vocab.receipt()
    if found.get("strong") and found.get("non_job"):
        # "we book your flight and one night in a hotel", "followed by a dinner with the CEO":
        # travel to an onsite and the meal of a final stage are the interview's, not another
        # world's, when the mail speaks of the hiring itself
        travel = [h for h in found["non_job"] if _TRAVEL.fullmatch(h.lower())]
        if travel or _visit_words(found) or _STAGE_MEAL.search(low):
            travel += [h for h in found["non_job"] if _VISIT_MEAL.fullmatch(h.lower())]
        if not travel and len(found["non_job"]) == 1 and domain and domain not in personal and _signs_as_hiring_side(signature):
            # "put the recruitment on hold until after their contract renewal", "Fingers crossed, I'll
            # let you know": one other-world word is the recruiter's, who signs as one
            travel = list(found["non_job"])
        if travel:
            found = {**found, "non_job": [h for h in found["non_job"] if h not in travel]}
            score += len(travel) * -data.vocab["non_job"].weight
    if found.get("blast") and not recipients:
        return JobDecision(False, f"mass mail to undisclosed recipients ({_short(found, 'blast')})")
    if found.get("blast") and score < THRESHOLD + 3:
        return JobDecision(False, f"agency blast or scam ({_short(found, 'blast')})")
    if not recipients and score < THRESHOLD + 3:
        return JobDecision(False, "mass mail to undisclosed recipients")
    if domain in personal:
        # Recruiters write from their company; friends, family and scammers from free mail, and
        # a friend's news about their own offer or interview is full of job words. From free
        # mail, only a message that reads as the hiring side's (and not as someone's own
        # process) is job mail; a reply in a job thread is decided by the caller.
        if _OWN_PROCESS.search(body, low) or _OWN_PROCESS_STRONG.search(body, low):
            return JobDecision(False, "private mail about someone's own job search (free mail sender)", False)
        score -= 4
    if any(a in local for a in data.alerts) and not receipt:
        score -= 2
    if domain and domain not in personal and not any(a in local for a in ("noreply", "no-reply", "donotreply")):
        if REPLY_SUBJECT.match(subject or ""):
            score += 1  # a personal conversation with someone at a company
    if len(found.get("non_job", ())) >= 2 and not receipt:
        # a known job contact may still write about the visit ("rebooked your flight and hotel")
        job_words = bool(found.get("strong")) or len(set(found.get("weak", ()))) >= 2
        return JobDecision(False, f"another world's mail ({_short(found, 'non_job')})", job_words)
    if has_calendar and score >= 1:
        return JobDecision(True, f"calendar invitation about a job ({_short(found, 'strong') or _short(found, 'weak')})")
    if score >= THRESHOLD:
        return JobDecision(True, f"personal mail with job vocabulary ({_short(found, 'strong') or _short(found, 'weak')})")
    why = _short(found, "non_job") or _short(found, "blast")
    words = _short(found, "strong") or _short(found, "weak")
    said = f"job words {words} count {max(score, 0)} of the {THRESHOLD} points needed" if words else "no job words"
    # one travel word beside job words ("her flight got cancelled, can we move our call?")
    # leaves the decision to context: a known job contact's mail is job mail
    travel_only = len(found.get("non_job", ())) == 1 and bool(
        _TRAVEL.fullmatch(found["non_job"][0].lower()) or (_VISIT_MEAL.fullmatch(found["non_job"][0].lower()) and _visit_words(found)))
    open_to_context = (not why and score >= 0) or (travel_only and bool(words))
    return JobDecision(False, f"no job context ({said}{'; other context: ' + why if why else ''})", open_to_context)


#: An ATS's or a scheduler's own marketing mailbox ("newsletter@calendly.com"), not mail it sends
#: for an employer (those come from no-reply@, notifications@ or the employer's name).
_MARKETING_MAILBOX = re.compile(r"(?:newsletters?|news|marketing|hello|product(?:-updates)?|updates|community|events|"
                                r"webinars?|promo(?:tions)?)$")


#: Travel words that an onsite or campus visit shares with a holiday booking, and the clinic
#: words of a pre-employment medical ("Fasting required from 21:00").
_TRAVEL = re.compile(r"flights?|hotels?|airline|itinerary|boarding|reservation|check-in|conference|clinic|doctor|fasting")
#: ... and the meal with the team on such a visit ("Itinerary: ... 6:30 Dinner with Dr. Mehta"),
#: the visit's only where the mail speaks of travel or of the visit itself.
_VISIT_MEAL = re.compile(r"dinner")
_VISIT = re.compile(r"(?:site|campus) visit|onsite|on-site")
#: ... and the dinner of an executive final stage ("followed by a dinner with Beat", "19:00 Dinner
#: with Dr. Imhof (CEO)"), not a friend's "can we do dinner on Sunday?"
_STAGE_MEAL = re.compile(r"\bfollowed by (?:a )?dinner\b|\bdinner with (?:the |our |your )?(?:chair(?:man|woman|person)?|ceo|"
                         r"founders?|co-founders?|partners?|board|executive|committee|managing directors?|president|panel|"
                         r"dr|mr|mrs|ms|prof)\b")


def _signs_as_hiring_side(signature: str) -> bool:
    """Does the signature carry a recruiting or hiring title ("Recruitment Consultant")?"""
    if not signature:
        return False
    from offerwatch.extractors.entities import find_title

    return find_title(signature)[1] is not None


def _visit_words(found: dict[str, list[str]]) -> bool:
    """Does the mail speak of a visit to the employer (site or campus visit, onsite)?"""
    return any(_VISIT.fullmatch(h.lower()) for h in (*found.get("strong", ()), *found.get("weak", ())))


#: The Message-ID offerwatch gives a digest (daemon/digest/render.py ``make_message_id``).
_DIGEST_ID = re.compile(r"^\s*<ow\.\d{4}-\d{2}-\d{2}\.[0-9a-f]{12}@[^>]*>\s*$")


def is_own_digest(headers: Mapping[str, str]) -> bool:
    """Is this a digest offerwatch wrote? Sent by SMTP to the user it lands in INBOX or Sent,
    the folders read by default; read back as mail it would become an application named
    after its date, with interviews and salary figures quoted from other mail.

    >>> is_own_digest({"x-offerwatch-digest": "2026-12-05"})
    True
    >>> is_own_digest({"message-id": "<ow.2026-12-05.0123456789ab@example.org>"})
    True
    >>> is_own_digest({"message-id": "<CAF=abc@mail.gmail.com>"})
    False
    """
    return bool(headers.get("x-offerwatch-digest")) or bool(_DIGEST_ID.match(headers.get("message-id", "") or ""))


#: A reply's subject ("Re:", "AW:", "SV:", "Antw:", "Rif:").
REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|antw|rif)\s*:", re.I)

#: Account mail of a career portal or any other site: not about an application (DESIGN.md).
_ACCOUNT = Prefiltered(re.compile(
    r"\b(?:reset (?:your |the )?password|password reset|forgot(?:ten)? (?:your )?password|(?:login|log-in|sign-in|magic) link|"
    r"(?:verification|security|one-time|sign-in|login) (?:code|passcode)|verify your (?:email|account)|"
    r"confirm your email address|activate your account|account (?:has been )?(?:created|activated|locked)|"
    # Spanish, Portuguese, French
    r"redefini(?:r|ção|cao) (?:a |de )?(?:sua )?senha|(?:restablecer|recuperar) (?:tu |su |la )?contraseña|"
    r"réinitialis(?:er|ation) (?:de |du )?(?:votre |ton )?mot de passe|"
    r"código de (?:verificação|verificacao|verificación|acceso|acesso)|code de (?:vérification|connexion))\b",
    re.I,
))


def is_automated_sender(email: str) -> bool:
    """A machine's mailbox (no-reply, alerts, notifications ...): many unrelated messages share it."""
    local = email.strip().lower().rpartition("@")[0]
    return any(a in local for a in _AUTOMATED) or any(a in local for a in load_data().alerts)


_AUTOMATED = ("noreply", "no-reply", "donotreply", "do-not-reply", "notification", "notify", "mailer", "bounce",
              "system", "auto", "info@")

def ats_or_tool(domain: str, data: _Data) -> bool:
    """Is the domain an ATS's, a scheduler's or a job board's?"""
    return bool(_domain_in(domain, data.ats) or _domain_in(domain, data.scheduling) or _domain_in(domain, data.job_boards))


#: Only a candidate says this of themselves: "I got the offer", "I'm in the final round at X".
_OWN_PROCESS_STRONG = Prefiltered(re.compile(
    r"\bi\s*(?:'ve|have)?\s*(?:just\s+)?(?:got|landed|received|accepted|bombed|aced)\s+(?:the|an?|my)\s+"
    r"(?:offer|job|role|interview|final|panel|call back|callback)\b"
    r"|\bi'?m\s+(?:in|into|through to)\s+the\s+final\s+(?:round|stage)\b|\bmy\s+(?:final|panel|second|first)\s+(?:round|interview)\b"
    r"|\bdid (?:you|u|ya) hear back\b|\bhow did (?:your|ur) \w*\s*interview\b",
    re.I,
))

#: A friend telling about their own process, or asking about the owner's: private mail.
_OWN_PROCESS = Prefiltered(re.compile(
    r"\b(?:i|we)\s*(?:'ve|have)?\s*(?:just\s+)?(?:got|landed|received|accepted|bombed|made it to|aced)\b"
    r"|\b(?:my|mine)\s+(?:interview|offer|panel|new job|first day|start date|application|boss|manager)\b"
    r"|\bmine\s+(?:got|was|is)\b|\bdid (?:you|u|ya) hear back\b|\bhow did (?:your|ur|the) \w+\s*(?:interview|one|go)\b"
    r"|\bhow(?:'s| is| was) the (?:new job|interview)\b|\b(?:lol|haha\w*|omg|lmao)\b|\bcongrat",
    re.I,
))


def explain_data() -> dict[str, Any]:
    """The loaded data, for ``offerwatch scan --debug`` style output and tests."""
    d = load_data()
    return {"ats": list(d.ats), "scheduling": list(d.scheduling), "job_boards": list(d.job_boards)}
