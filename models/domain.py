"""The domain vocabulary shared by every layer: messages, signals, analyses.

These are plain frozen dataclasses so that extractors can produce them, the store can
persist them and the digest can render them without any layer importing another's
machinery. ``models`` imports nothing from ``daemon`` or ``extractors``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class SignalType(str, enum.Enum):
    """Every signal type of DESIGN.md's table; the value is the stored name."""

    KEEP_WARM = "keep_warm"
    OTHER_PROCESS_INQUIRY = "other_process_inquiry"
    EXPEDITE = "expedite"
    NEXT_ROUND_FAST = "next_round_fast"  # derived from the timeline
    SENIOR_LEADER_INTERVIEW = "senior_leader_interview"
    SALARY_RECONFIRM = "salary_reconfirm"
    HIRING_MANAGER_DIRECT = "hiring_manager_direct"
    PANEL_INVITE = "panel_invite"
    OFFER = "offer"
    POSTPONED = "postponed"
    ROLE_ON_HOLD = "role_on_hold"
    REJECTION = "rejection"
    SILENCE = "silence"  # derived from the timeline
    APPLICATION_RECEIVED = "application_received"
    INTERVIEW_REQUEST = "interview_request"
    INTERVIEW_SCHEDULED = "interview_scheduled"


#: Polarity of each type as DESIGN.md writes it (+++ .. ---), as an integer.
POLARITY: dict[str, int] = {
    "keep_warm": 1,
    "other_process_inquiry": 2,
    "expedite": 2,
    "next_round_fast": 2,
    "senior_leader_interview": 2,
    "salary_reconfirm": 2,
    "hiring_manager_direct": 2,
    "panel_invite": 1,
    "offer": 3,
    "postponed": -1,
    "role_on_hold": -1,
    "rejection": -3,
    "silence": -1,
    "application_received": 0,
    "interview_request": 0,
    "interview_scheduled": 0,
}

#: Types found in a single message's text; the others come from the timeline.
MESSAGE_SIGNAL_TYPES: frozenset[str] = frozenset(
    t.value for t in SignalType if t not in (SignalType.SILENCE, SignalType.NEXT_ROUND_FAST)
)
DERIVED_SIGNAL_TYPES: frozenset[str] = frozenset({"silence", "next_round_fast"})


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class Location:
    """Where a message was read, stable across runs, used for incremental sync.

    ``uid`` orders messages inside one folder generation (``uidvalidity``); ``key`` is the
    source's own name for the message (IMAP UID as text, maildir key, file name, mbox index).

    Example: ``Location("personal", "INBOX", 1700000000, 4211, "4211")``.
    """

    account: str
    folder: str
    uidvalidity: int
    uid: int
    key: str

    @property
    def identity(self) -> str:
        return f"{self.account}\x1f{self.folder}\x1f{self.uidvalidity}\x1f{self.key}"


@dataclass(frozen=True)
class RawMessage:
    """A message as a source hands it out: bytes (possibly truncated) and where it is."""

    location: Location
    data: bytes
    size: int  # the full size on the source, even when ``data`` was capped
    internal_date: datetime | None = None
    truncated: bool = False
    #: Why the source could not read it (a maildir file without read permission); ``data`` is
    #: then empty and the engine records the message as unreadable instead of analysing it.
    error: str | None = None


@dataclass(frozen=True)
class Address:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Salary:
    """A salary figure as written: ``$150-160K`` -> min 150000, max 160000, USD, year."""

    min: float
    max: float
    currency: str | None
    period: str  # "year" | "month" | "hour" | "day"
    text: str

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"currency": self.currency, "period": self.period, "text": self.text}
        if self.min == self.max:
            d["amount"] = self.min
        else:
            d["min"], d["max"] = self.min, self.max
        return d


@dataclass(frozen=True)
class Signal:
    """One detected signal with the evidence that makes it explainable.

    ``start``/``end`` are character offsets of ``evidence`` inside the analysed text
    (``Analysis.text``); ``rule`` is the pattern id that fired and ``label`` its
    human-readable description.
    """

    type: str
    evidence: str
    start: int
    end: int
    rule: str
    label: str = ""
    strength: float = 1.0
    entities: dict[str, Any] = field(default_factory=dict)

    @property
    def polarity(self) -> int:
        return POLARITY.get(self.type, 0)


@dataclass(frozen=True)
class Attendee(Address):
    """A calendar participant (ORGANIZER or ATTENDEE): address, display name (CN), ROLE and
    PARTSTAT as the invitation writes them.

    Example: ``Attendee("Priya Shah (VP Engineering)", "priya@acme.example", "REQ-PARTICIPANT",
    "NEEDS-ACTION")``. ``role`` is one of RFC 5545's CHAIR, REQ-PARTICIPANT, OPT-PARTICIPANT,
    NON-PARTICIPANT, or "" when the invitation does not say.
    """

    role: str = ""
    status: str = ""


@dataclass(frozen=True)
class CalendarEvent:
    """An event from a text/calendar part (METHOD REQUEST/CANCEL) or a confirmed time.

    ``start``/``end`` are aware datetimes, or plain ``date`` values for an all-day event
    (a day wherever the reader lives; ``end`` is then the day after, as RFC 5545 has it).
    An event with DURATION instead of DTEND gets ``end = start + duration``.
    ``summary``, ``description``, the organizer's and the attendees' names and roles are
    what the invitation tells a reader: detection reads them like the mail's text.
    """

    uid: str
    method: str  # REQUEST | CANCEL | PUBLISH | TEXT
    summary: str
    start: datetime | date | None
    end: datetime | date | None
    organizer: Address | None
    attendees: tuple[Address, ...] = ()  # Attendee values when read from a calendar part
    sequence: int = 0
    description: str = ""

    @property
    def all_day(self) -> bool:
        return isinstance(self.start, date) and not isinstance(self.start, datetime)

    def reader_text(self) -> str:
        """The invitation as a reader sees it in a calendar client, one item per line.

        >>> ev = CalendarEvent("u", "REQUEST", "Panel interview", None, None,
        ...                    Attendee("Jo Recruiter", "jo@acme.example"),
        ...                    (Attendee("Priya Shah (VP Engineering)", "p@acme.example", "REQ-PARTICIPANT"),),
        ...                    description="Meet the team.")
        >>> print(ev.reader_text())
        Panel interview
        Meet the team.
        Organizer: Jo Recruiter
        Attendee: Priya Shah (VP Engineering) (REQ-PARTICIPANT)
        """
        lines = [self.summary, self.description]
        if self.organizer is not None and self.organizer.name:
            lines.append(f"Organizer: {self.organizer.name}")
        for a in self.attendees:
            if a.name:
                role = getattr(a, "role", "")
                lines.append(f"Attendee: {a.name} ({role})" if role else f"Attendee: {a.name}")
        return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Analysis:
    """Everything the pipeline learned from one message; what the store persists."""

    message_id: str
    subject: str
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    direction: Direction
    is_job: bool
    job_reason: str
    text: str  # newest reply only, signature removed: what extraction read
    signature: str
    signals: tuple[Signal, ...] = ()
    events: tuple[CalendarEvent, ...] = ()
    salaries: tuple[Salary, ...] = ()
    sender_role: str | None = None  # recruiter | coordinator | hiring_manager | leader | None
    sender_title: str | None = None
    company: str | None = None
    role: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = ()  # what went wrong while reading it, for the log and scan
    parse_failed: bool = False
    content_hash: str = ""  # SHA-256 of the bytes as read
    #: SHA-256 of what the message says, without what transport adds (Received, Delivered-To,
    #: line endings): the same mail read from two folders or two exports has the same
    #: fingerprint, a different mail reusing its Message-ID has another one.
    fingerprint: str = ""
    #: The key the store filed the message under, when not :attr:`message_id` (another message
    #: with a different content already holds that id). Set by the store, read by the linker.
    stored_key: str = ""

    @property
    def key(self) -> str:
        """Where the message is stored: its Message-ID (see :attr:`stored_key` for a second
        mail with the same id), or a content hash when a message has none."""
        return self.stored_key or self.message_id or f"sha256:{self.content_hash}"
