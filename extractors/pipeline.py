"""The one pipeline every entry point runs: parse -> clean -> classify -> extract.

``offerwatch eval``, ``scan``, ``backfill``, ``sync`` and ``demo`` all call
:func:`analyze` (or :func:`analyze_many`), so what the evaluation measures is exactly what
the daemon stores.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from concurrent.futures import Executor
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from offerwatch.extractors.clean import MAX_TEXT_CHARS, clean_reply
from offerwatch.extractors.fingerprint import content_fingerprint
from offerwatch.extractors.parse import ParsedMail, parse_headers_only, parse_mail
from offerwatch.models.domain import Analysis, Direction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    """Who the mailbox belongs to: their addresses decide a message's direction."""

    addresses: frozenset[str] = frozenset()

    def is_owner(self, email: str | None) -> bool:
        return email is not None and email.lower() in self.addresses

    @property
    def domains(self) -> frozenset[str]:
        """The domains of the owner's addresses ("example.org" for "me@example.org")."""
        return frozenset(a.rpartition("@")[2] for a in self.addresses if "@" in a)

    @classmethod
    def of(cls, addresses: Iterable[str]) -> Owner:
        return cls(frozenset(a.strip().lower() for a in addresses if a and a.strip()))


def direction_of(parsed: ParsedMail, owner: Owner, folder_role: str | None) -> Direction:
    """Outgoing when read from a Sent folder or written from one of the owner's addresses."""
    if folder_role == "sent":
        return Direction.OUT
    if parsed.sender is not None and owner.is_owner(parsed.sender.email):
        return Direction.OUT
    return Direction.IN


@dataclass(frozen=True)
class _Prepared:
    parsed: ParsedMail
    direction: Direction
    text: str
    signature: str
    problems: tuple[str, ...]
    fingerprint: str


def _prepare(raw: bytes, owner: Owner, folder_role: str | None) -> _Prepared:
    """Parse and clean one message; each step that fails costs only its own output.

    parse_mail records bad input as problems itself; the guards here are for bugs, so one
    message that trips one can never stop a backfill or lose the fields already read.
    """
    try:
        parsed = parse_mail(raw)
    except Exception as err:  # noqa: BLE001 - a parser bug: record it, keep going
        log.exception("parsing failed on one message; recorded as unparseable")
        parsed = ParsedMail(content_hash=hashlib.sha256(raw).hexdigest(), parse_failed=True,
                            problems=[f"internal error while parsing: {type(err).__name__}"])
    problems = list(parsed.problems)
    try:
        cleaned = clean_reply(parsed.text)
        text, signature = cleaned.text, cleaned.signature
        if cleaned.truncated:
            problems.append("text longer than the analysis cap; only its start was analysed")
            log.info("message %s: text cut to the analysis cap", parsed.message_id or "(no id)")
    except Exception as err:  # noqa: BLE001 - a cleaner bug: analyse the text uncleaned
        log.exception("cleaning failed on message %s; its text is analysed uncleaned", parsed.message_id or "(no id)")
        problems.append(f"internal error while cleaning: {type(err).__name__}")
        text, signature = parsed.text[:MAX_TEXT_CHARS], ""
    return _Prepared(parsed, direction_of(parsed, owner, folder_role), text, signature, tuple(problems),
                     content_fingerprint(raw))


def analyze(raw: bytes, *, owner: Owner = Owner(), folder_role: str | None = None) -> Analysis:
    """Run the whole pipeline on one message's bytes. Never raises for bad mail."""
    return next(analyze_many([raw], owner=owner, folder_role=folder_role))


#: Thread context: does any of these Message-IDs belong to a known job message?
ThreadLookup = Callable[[Sequence[str]], bool]

#: Contact context: has this address (or its company's domain) been in job mail before?
ContactLookup = Callable[[str], bool]
#: The (title, role) a sender signed job mail with before, if any.
RoleLookup = Callable[[str], "tuple[str | None, str | None] | None"]

#: Decisions that context must not overturn: bulk mail, private forwards, a friend's own news.
_FIRM_NO = ("bulk mail", "owner forwarded", "mass mail", "agency blast", "job board notification", "private mail",
            "account mail", "offerwatch's own digest")


#: One message parsed, cleaned and classified without context (see :func:`prepare_many`).
Prepared = tuple[_Prepared, Any]


def prepare_many(raws: Sequence[bytes], owner: Owner = Owner(), folder_role: str | None = None) -> list[Prepared]:
    """Parse, clean and classify messages, each on its own: the part of the pipeline that
    needs nothing but the message, so a worker process can run it (see :func:`worker_pool`)."""
    return [_prepare_and_classify((raw, owner, folder_role)) for raw in raws]


def analyze_many(
    raws: Iterable[bytes],
    *,
    owner: Owner = Owner(),
    folder_role: str | None = None,
    thread_is_job: ThreadLookup | None = None,
    contact_is_job: ContactLookup | None = None,
    role_of: RoleLookup | None = None,
    prepared: Sequence[Prepared] | None = None,
) -> Iterator[Analysis]:
    """Like :func:`analyze` for many messages; extraction runs batched through spaCy.

    ``thread_is_job`` lets the caller (the sync engine asks the store; eval asks the messages
    it has read so far) say whether a message answers a known job message: a two-line
    "see you at 3" in a recruiter thread is job mail though it has no job words.
    ``contact_is_job`` does the same for people: a hiring manager's "Do you have 15 minutes
    tomorrow?" is job mail when she (or her company's domain) has written job mail before,
    and so is the owner's "Wednesday 09:30 please" to her. ``role_of`` gives the title a sender
    signed with before, so a hiring manager's note signed "Priya" is still hers. Messages of
    this batch count as known once decided, in order.

    ``prepared`` is :func:`prepare_many`'s result for ``raws`` when a worker already made it;
    the results are the same either way.
    """
    from offerwatch.extractors.classify import contact_keys
    from offerwatch.extractors.signals import Extraction, extract_many

    nothing = Extraction((), (), None, None)  # what private mail keeps: no signals, no role

    done = list(prepared) if prepared is not None else prepare_many(list(raws), owner, folder_role)
    prepared_ = [d[0] for d in done]
    decisions = [d[1] for d in done]
    # Decide first, in order (thread and contact context come from the messages before),
    # then extract signals from job mail only: most of an inbox is not, and its signals
    # would be thrown away.
    looks = _second_looks(prepared_, decisions, extract_many)
    job_flags: list[tuple[bool, str]] = []
    batch_job_ids: set[str] = set()
    batch_contacts: set[str] = set()
    for i, (p, decision) in enumerate(zip(prepared_, decisions, strict=True)):
        is_job = bool(decision and decision.is_job)
        if decision is not None:
            reason = decision.reason
        elif p.parsed.parse_failed:
            reason = "unparseable message: " + "; ".join(p.problems)
        else:
            reason = "not classified (internal error); see the log"
        counterparts = _counterparts(p)
        if decision is not None and not is_job and not reason.startswith(_FIRM_NO):
            thread = ([p.parsed.in_reply_to] if p.parsed.in_reply_to else []) + list(p.parsed.references)
            if thread and (any(t in batch_job_ids for t in thread) or (thread_is_job is not None and thread_is_job(thread))):
                is_job, reason = True, f"reply in a job thread (classifier alone: {reason})"
            elif decision.open_to_context and not _FORWARD.match(p.parsed.subject or ""):
                known = next((c for c in counterparts if any(k in batch_contacts for k in contact_keys(c))
                              or (contact_is_job is not None and contact_is_job(c))), None)
                if known is not None:
                    is_job, reason = True, f"{known} is in an earlier job conversation (classifier alone: {reason})"
            if not is_job and i in looks:
                is_job, reason = True, f"{looks[i]} (classifier alone: {reason})"
        if is_job and p.parsed.message_id:
            batch_job_ids.add(p.parsed.message_id)
        if is_job:
            batch_contacts.update(k for c in counterparts for k in contact_keys(c))
        job_flags.append((is_job, reason))
    job_prepared = [p for p, (is_job, _) in zip(prepared_, job_flags, strict=True) if is_job]
    inputs = [_extract_input(p, known) for p, known in zip(job_prepared, _known_roles(job_prepared, role_of), strict=True)]
    extractions = iter(_extract_all(extract_many, inputs))
    for p, (is_job, reason) in zip(prepared_, job_flags, strict=True):
        extraction = next(extractions) if is_job else nothing
        yield Analysis(
            message_id=p.parsed.message_id,
            subject=p.parsed.subject,
            sender=p.parsed.sender,
            to=p.parsed.to,
            cc=p.parsed.cc,
            date=p.parsed.date,
            in_reply_to=p.parsed.in_reply_to,
            references=p.parsed.references,
            direction=p.direction,
            is_job=is_job,
            job_reason=reason,
            text=p.text,
            signature=p.signature,
            signals=extraction.signals,
            events=tuple(p.parsed.events),
            salaries=extraction.salaries,
            sender_role=extraction.sender_role,
            sender_title=extraction.sender_title,
            headers=p.parsed.headers,
            attachments=tuple(p.parsed.attachments),
            problems=p.problems,
            parse_failed=p.parsed.parse_failed,
            content_hash=p.parsed.content_hash,
            fingerprint=p.fingerprint,
        )


#: Signals only the hiring side's mail carries. Found in a message whose vocabulary left it
#: undecided, they make it job mail: "We will not take you to the next step of the process"
#: and "we've gone with someone who had more sector experience" hold no job word. Slots and
#: offers are not among them: a booking, a draft night and "a place on the MSc" have those too.
_HIRING_SIDE = frozenset({"rejection", "other_process_inquiry", "role_on_hold", "salary_reconfirm"})


def _extract_input(p: _Prepared, known_role: tuple[str | None, str | None] | None = None) -> Any:
    """What extraction reads of one prepared message."""
    from offerwatch.extractors.signals import ExtractInput

    return ExtractInput(text=p.text, signature=p.signature, subject=p.parsed.subject, sender=p.parsed.sender,
                        direction=p.direction, events=tuple(p.parsed.events), known_role=known_role)


def _second_looks(prepared: list[_Prepared], decisions: list[Any], extract_many: Callable[..., Iterator[Any]]) -> dict[int, str]:
    """Messages the classifier could not place for want of job words, read once more for what
    the hiring side says: index -> the reason they are job mail after all.

    Only incoming mail from someone at an organisation (not free mail, not a forward) whose
    text spoke neither for another world nor for bulk mail is read, so a friend's news or a
    shop's order update never gets here; the extra extraction costs a few messages a batch.
    """
    from offerwatch.extractors.classify import load_data

    freemail = load_data().freemail
    wanted: list[int] = []
    for i, (p, d) in enumerate(zip(prepared, decisions, strict=True)):
        sender = p.parsed.sender.email.lower() if p.parsed.sender else ""
        if (d is None or d.is_job or not d.open_to_context or not d.reason.startswith("no job context")
                or p.direction is not Direction.IN or "@" not in sender or sender.rpartition("@")[2] in freemail
                or _FORWARD.match(p.parsed.subject or "")):
            continue
        wanted.append(i)
    if not wanted:
        return {}
    inputs = [_extract_input(prepared[i]) for i in wanted]
    out: dict[int, str] = {}
    for i, extraction in zip(wanted, _extract_all(extract_many, inputs), strict=True):
        hit = next((s for s in extraction.signals if s.type in _HIRING_SIDE), None)
        if hit is not None:
            out[i] = f"the text reads as the hiring side's: {hit.type.replace('_', ' ')} ({hit.rule})"
    return out


def _known_roles(prepared: list[_Prepared], role_of: RoleLookup | None) -> list[tuple[str | None, str | None] | None]:
    """For each incoming message, the (title, role) its sender signed with in earlier mail of this
    batch or of the store: titles live in signatures, and a short reply is signed "Priya". A
    writer who introduced themselves in the text ("its Rhonda, district manager for Copper
    Kettle") keeps that role in their later, shorter replies."""
    from offerwatch.extractors.classify import is_automated_sender
    from offerwatch.extractors.entities import find_title, self_intro_role

    seen: dict[str, tuple[str | None, str | None]] = {}
    out: list[tuple[str | None, str | None] | None] = []
    for p in prepared:
        email = p.parsed.sender.email.lower() if p.direction is Direction.IN and p.parsed.sender else ""
        if email and is_automated_sender(email):
            email = ""  # "messages-noreply@linkedin.com" relays many people: no one title is its own
        known = seen.get(email) if email else None
        if known is None and email and role_of is not None:
            known = role_of(email)
        out.append(known)
        if email:
            title, role = find_title(p.signature) if p.signature else (None, None)
            if role is None and email not in seen:
                title, role = self_intro_role(p.text)
            if role is not None:
                seen[email] = (title, role)
    return out


_FORWARD = re.compile(r"^\s*(?:fwd?|fw|wg|tr|rv)\s*:", re.I)


def _prepare_and_classify(job: tuple[bytes, Owner, str | None]) -> tuple[_Prepared, Any]:
    """Parse, clean and classify one message without context: the part of the pipeline that
    needs nothing but the message, so it can run in a worker process."""
    from offerwatch.extractors.classify import classify

    raw, owner, folder_role = job
    p = _prepare(raw, owner, folder_role)
    return p, _classify(classify, p, owner)


def worker_pool(workers: int | None = None) -> Executor | None:
    """A process pool for :func:`analyze_many` (a worker per core; None on a single core).

    Workers fork from this process (the classifier data and parser are already imported),
    and never load spaCy: extraction of the few job messages stays in the caller. What they
    log goes to this process's handlers, at its level (see :func:`_logging_pool_class`).
    """
    import multiprocessing
    import os

    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 2:
        return None  # one core: the pool would only add copying
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    root = logging.getLogger()
    records = ctx.Queue() if root.handlers else None
    return _logging_pool_class()(records, max_workers=n, mp_context=ctx, initializer=_start_worker,
                                 initargs=(os.getpid(), records, root.getEffectiveLevel()))


@functools.cache
def _logging_pool_class() -> type[Any]:
    """The pool class, defined on first use: its base, ProcessPoolExecutor, takes 18 ms to
    import, which ``offerwatch --help`` and a sync without a pool need not pay."""
    from concurrent.futures import ProcessPoolExecutor

    class LoggingPool(ProcessPoolExecutor):
        """A process pool whose workers' log records reach this process's handlers.

        A worker started by forkserver or spawn has no logging set up: ``-v`` did not reach
        it, and a parser bug's traceback went to stderr by logging's last-resort handler,
        past the format and the secret redaction. Its records are
        sent over a queue and handled here by the root logger's handlers (a
        ``QueueListener``), stopped once the pool is shut down.
        """

        def __init__(self, records: Any, **kw: Any) -> None:
            super().__init__(**kw)
            self._listener: logging.handlers.QueueListener | None = None
            if records is not None:
                import logging.handlers

                self._listener = logging.handlers.QueueListener(records, *logging.getLogger().handlers,
                                                                respect_handler_level=True)
                self._listener.start()

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
            if self._listener is not None and wait:
                self._listener.stop()  # what the workers sent before they ended is handled first
                self._listener = None

    return LoggingPool


def _start_worker(parent: int, records: Any = None, level: int = logging.WARNING) -> None:
    """Load the classifier data once, send log records to the parent (``records``, a queue;
    None: keep logging's defaults), and end this worker when the process that started the
    pool is gone (a backfill killed with kill -9 would otherwise leave its workers behind,
    waiting on a queue nobody writes to)."""
    import os
    import threading
    import time

    from offerwatch.extractors.classify import load_data

    if records is not None:
        import logging.handlers

        root = logging.getLogger()
        root.handlers[:] = [logging.handlers.QueueHandler(records)]
        root.setLevel(level)
    load_data()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass  # alive, and someone else's: keep going

    threading.Thread(target=watch, name="offerwatch-parent-watch", daemon=True).start()


def _counterparts(p: _Prepared) -> list[str]:
    """Whom the owner corresponds with in a message: its sender, or the recipients of their own mail."""
    if p.direction is Direction.OUT:
        return [a.email.lower() for a in (p.parsed.to + p.parsed.cc)[:10] if a.email]
    return [p.parsed.sender.email.lower()] if p.parsed.sender is not None and p.parsed.sender.email else []


def _classify(classify: Callable[..., Any], p: _Prepared, owner: Owner) -> Any:
    """The classifier's decision, or None for an unparseable message or a classifier bug."""
    if p.parsed.parse_failed:
        return None
    try:
        return classify(
            sender=p.parsed.sender,
            subject=p.parsed.subject,
            text=p.text,
            headers={**p.parsed.headers, "message-id": p.parsed.message_id or ""},
            direction=p.direction,
            has_calendar=bool(p.parsed.events),
            recipients=p.parsed.to + p.parsed.cc,
            signature=p.signature,
            owner_domains=owner.domains,
        )
    except Exception:  # noqa: BLE001 - one message's classifier bug must not stop the batch
        log.exception("classifying message %s failed; stored as not job mail", p.parsed.message_id or "(no id)")
        return None


def _extract_all(extract_many: Callable[..., Iterator[Any]], inputs: list[Any]) -> list[Any]:
    """Extractions for a batch; when the batch fails, message by message, and a message
    that still fails gets none (it keeps its headers, text and classification).

    The batch runs in a spaCy memory zone: every string, lexeme and tokenizer-cache entry
    the batch adds is freed when it ends. Without it a long-running daemon keeps every
    distinct token it ever saw (12,000 hostile mails: 85,000 strings, +110 MB). Extractions
    hold plain Python values only, so nothing of the zone is used after it.
    """
    from offerwatch.extractors.nlp import get_nlp
    from offerwatch.extractors.signals import Extraction

    with get_nlp().memory_zone():
        try:
            return list(extract_many(inputs))
        except Exception:  # noqa: BLE001 - isolate the message that breaks the batch
            log.exception("signal extraction failed for a batch of %d; retrying one by one", len(inputs))
        out: list[Extraction] = []
        for inp in inputs:
            try:
                out.extend(extract_many([inp]))
            except Exception:  # noqa: BLE001 - no signals for this one message
                log.exception("signal extraction failed for one message; no signals recorded for it")
                out.append(Extraction((), (), None, None))
        return out


def owner_from_sample(raws: Iterable[bytes]) -> Owner:
    """:func:`infer_owner` over the headers of ``raws``; a message whose headers cannot be
    read is logged and left out of the sample, never an error (an import must not abort
    on one broken mail before it has begun)."""
    sample = []
    for raw in raws:
        try:
            sample.append(parse_headers_only(raw))
        except Exception:  # noqa: BLE001 - a parser bug on one sampled message
            log.exception("one message left out of the owner sample: its headers could not be read")
    return infer_owner(sample)


def infer_owner(headers_of: Sequence[ParsedMail]) -> Owner:
    """Guess the mailbox owner(s) for a source without configuration: who receives mail from many.

    In a person's mailbox nearly every incoming message is addressed to them, from many
    different senders, so the recipient with the most distinct senders is the owner (EVAL.md
    states the same convention). A shared export or a labeled corpus may hold several people's
    mail: every address that hears from a good share as many senders (a fifth of the top, and at
    least three) is an owner too, so their replies read as outgoing mail. A recruiter who gets
    five replies from one candidate has one sender, and stays a correspondent.
    """
    senders: dict[str, set[str]] = {}
    for parsed in headers_of:
        sender = parsed.sender.email if parsed.sender else ""
        recipients = [a.email for a in parsed.to]
        delivered = parsed.headers.get("delivered-to", "").strip().lower()
        if delivered:
            recipients.append(delivered)
        for addr in recipients:
            senders.setdefault(addr, set()).add(sender)
    if not senders:
        return Owner()
    counts = {a: len(s) for a, s in senders.items()}
    best = max(counts.values())
    floor = max(3, best // 5) if best >= 3 else best
    return Owner.of(a for a, c in counts.items() if c >= floor)
