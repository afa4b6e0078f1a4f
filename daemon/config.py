"""Configuration: TOML read with tomllib, validated into typed frozen objects.

Every problem in a file is collected and reported at once, each with its key path and what
was expected, so a user fixes a config in one pass instead of five. Secrets are never read
from here by default: an account names where its secret lives (keyring, env var, command).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

APP = "offerwatch"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "offerwatch.db"


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


class ConfigError(Exception):
    """A configuration file is unusable; ``problems`` lists every issue found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


@dataclass(frozen=True)
class AccountConfig:
    """One ``[[accounts]]`` entry: an IMAP server (``host``) or a local maildir (``maildir``)."""

    name: str
    host: str
    username: str
    port: int = 993
    tls: str = "implicit"  # implicit | starttls | none
    allow_insecure: bool = False
    ca_file: str = ""
    auth: str = "password"  # password | xoauth2
    password_command: str = ""
    password_env: str = ""
    token_command: str = ""
    folders: tuple[str, ...] = ()  # empty: INBOX and the \\Sent special-use folder
    addresses: tuple[str, ...] = ()  # the owner's other addresses (aliases)
    timeout_seconds: float = 60.0
    idle: bool = False  # IMAP IDLE on INBOX: new mail is read within seconds (daemon.idle)
    #: a local maildir kept in sync by mbsync/offlineimap, read instead of a server (``~`` allowed)
    maildir: str = ""

    @property
    def where(self) -> str:
        """Where the account's mail is, for ``offerwatch check``."""
        if self.maildir:
            return f"maildir {self.maildir}"
        return f"{self.username} @ {self.host}:{self.port} ({self.tls}, {self.auth})"


@dataclass(frozen=True)
class DetectionConfig:
    silence_business_days: int = 7
    salary_jump_percent: float = 10.0
    half_life_days: float = 14.0
    holidays: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 465
    tls: str = "implicit"
    allow_insecure: bool = False
    ca_file: str = ""
    username: str = ""
    password_command: str = ""
    password_env: str = ""
    to: str = ""
    sender: str = ""


@dataclass(frozen=True)
class DigestConfig:
    time: time = time(7, 30)
    timezone: str = ""  # empty: the system's
    channel: str = "file"  # smtp | imap | file
    skip_when_empty: bool = False
    #: business days after the last contact (either side) when a silent application "goes cold":
    #: out of "going quiet" and the pipeline, onto a one-line count (models.cold)
    cold_business_days: int = 30
    smtp: SmtpConfig = SmtpConfig()
    imap_account: str = ""
    imap_folder: str = "offerwatch"
    file_path: str = ""

    @property
    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None


@dataclass(frozen=True)
class ScheduleConfig:
    poll_minutes: float = 10.0
    jitter_seconds: float = 30.0


#: The signals that alert by default: news a job seeker wants to hear at once (see DESIGN.md).
URGENT_SIGNAL_TYPES: tuple[str, ...] = (
    "offer", "hiring_manager_direct", "interview_request", "other_process_inquiry", "postponed",
)
#: Where alerts can go: a desktop notification, a short mail through the digest's channel.
ALERT_CHANNELS: tuple[str, ...] = ("desktop", "mail")


@dataclass(frozen=True)
class AlertsConfig:
    """``[alerts]``: which signals alert at once, where, and when not.

    ``quiet_hours`` is ``(start, end)`` in the digest's time zone (the system's when empty);
    ``end`` before ``start`` spans midnight. Mail older than ``max_age_hours`` (by its Date)
    never alerts, so a backfill or the first sync of an old mailbox stays silent.
    """

    channels: tuple[str, ...] = ("desktop",)
    types: tuple[str, ...] = URGENT_SIGNAL_TYPES
    quiet_hours: tuple[time, time] | None = None
    max_age_hours: float = 24.0

    @property
    def enabled(self) -> bool:
        return bool(self.channels and self.types)


@dataclass(frozen=True)
class Config:
    database: Path = field(default_factory=default_database_path)
    accounts: tuple[AccountConfig, ...] = ()
    identity_addresses: tuple[str, ...] = ()
    detection: DetectionConfig = DetectionConfig()
    digest: DigestConfig = DigestConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    alerts: AlertsConfig = AlertsConfig()
    source: str = "(defaults)"
    #: The config file that was looked for and did not exist (the defaults are in use).
    missing_file: str = ""

    def account(self, name: str) -> AccountConfig:
        for acc in self.accounts:
            if acc.name == name:
                return acc
        if not self.accounts:
            raise ConfigError(self.source, [self.no_accounts()])
        known = ", ".join(a.name for a in self.accounts)
        raise ConfigError(self.source, [f"no account named {name!r} (accounts: {known})"])

    def no_accounts(self) -> str:
        """What to tell a user whose command needs an account and there is none."""
        if self.missing_file:
            return f"no config file at {self.missing_file} (create one with `offerwatch init`)"
        return (f"no accounts in {self.source}: add an [[accounts]] table (see config.example.toml) "
                "or run `offerwatch init`")

    @property
    def owner_addresses(self) -> tuple[str, ...]:
        out = list(self.identity_addresses)
        for acc in self.accounts:
            if "@" in acc.username:
                out.append(acc.username)
            out.extend(acc.addresses)
        return tuple(dict.fromkeys(a.lower() for a in out))


# -- validation ------------------------------------------------------------------------------

class _Checker:
    """Collects problems while reading a TOML table with typed getters."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def table(self, data: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                hint = _closest(key, allowed)
                self.problems.append(f"{path}{key}: unknown key" + (f" (did you mean {hint!r}?)" if hint else ""))

    def get(self, data: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...], default: Any,
            check: Callable[[Any], str | None] | None = None) -> Any:
        if key not in data:
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            self.problems.append(f"{path}{key}: expected {_kind_name(kinds)}, got a boolean")
            return default
        if not isinstance(value, kinds):
            self.problems.append(f"{path}{key}: expected {_kind_name(kinds)}, got {type(value).__name__} {value!r}")
            return default
        if check is not None:
            problem = check(value)
            if problem:
                self.problems.append(f"{path}{key}: {problem}")
                return default
        return value

    def strings(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = self.get(data, key, path, list, [])
        if not all(isinstance(v, str) for v in value):
            self.problems.append(f"{path}{key}: expected a list of strings")
            return ()
        return tuple(value)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _closest(key: str, allowed: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.75)
    return found[0] if found else None


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"expected one of {', '.join(map(repr, choices))}, got {v!r}"


def _port(v: int) -> str | None:
    return None if 0 < v < 65536 else f"expected a port between 1 and 65535, got {v}"


def _positive(v: float) -> str | None:
    return None if v > 0 else f"expected a positive number, got {v}"


def _cold_days(silence: int) -> Callable[[int], str | None]:
    """``digest.cold_business_days``: longer than the silence threshold, or nothing would ever go quiet first."""
    def check(v: int) -> str | None:
        if not 1 <= v <= 260:
            return f"expected 1 to 260 business days, got {v}"
        if v <= silence:
            return (f"{v} business days is not longer than detection.silence_business_days ({silence}): an application "
                    f"would go cold before it could go quiet; give more than {silence}")
        return None

    return check


def _zone(v: str) -> str | None:
    if not v:
        return None
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r} (use an IANA name such as 'Europe/Berlin' or 'America/Chicago')"
    return None


def _clock(v: str) -> str | None:
    return None if re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", v) else f"expected a time of day as HH:MM, got {v!r}"


def _quiet_hours(v: str) -> str | None:
    m = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", v)
    if v and (m is None or _clock(m.group(1)) or _clock(m.group(2))):
        return f'expected "HH:MM-HH:MM" such as "22:00-07:30" (or "" for none), got {v!r}'
    if m and m.group(1) == m.group(2):
        return f"{v!r} starts and ends at the same time; give a span such as \"22:00-07:30\", or \"\" for none"
    return None


def _parse_quiet_hours(v: str) -> tuple[time, time] | None:
    """``"22:00-07:30"`` -> ``(time(22, 0), time(7, 30))``; ``""`` -> ``None`` (validated before)."""
    if not v.strip():
        return None
    start, end = (part.strip().split(":") for part in v.split("-"))
    return (time(int(start[0]), int(start[1])), time(int(end[0]), int(end[1])))


def _alerts(c: _Checker, data: Mapping[str, Any], digest_channel: str) -> AlertsConfig:
    """``[alerts]``: channels, per-type on/off, quiet hours, maximum age."""
    from offerwatch.models.domain import POLARITY

    raw = c.get(data, "alerts", "", dict, {})
    c.table(raw, "alerts.", {"channels", "types", "quiet_hours", "max_age_hours"})
    channels = c.strings(raw, "channels", "alerts.") if "channels" in raw else AlertsConfig.channels
    for ch in channels:
        if ch not in ALERT_CHANNELS:
            c.problems.append(f"alerts.channels: unknown channel {ch!r}; expected some of "
                              f"{', '.join(map(repr, ALERT_CHANNELS))}, or [] to turn alerts off")
    if "mail" in channels and digest_channel == "file":
        c.problems.append('alerts.channels: "mail" sends through the digest\'s channel, which is "file"; set '
                          '[digest] channel = "smtp" (or "imap"), or remove "mail"')
    types = dict.fromkeys(URGENT_SIGNAL_TYPES, True)
    types_raw = c.get(raw, "types", "alerts.", dict, {})
    for key, on in types_raw.items():
        if key not in POLARITY:
            hint = _closest(key, set(POLARITY))
            c.problems.append(f"alerts.types.{key}: unknown signal type" + (f" (did you mean {hint!r}?)" if hint else "")
                              + "; the types are listed in the README")
        elif not isinstance(on, bool):
            c.problems.append(f"alerts.types.{key}: expected true or false, got {on!r}")
        else:
            types[key] = on
    quiet = c.get(raw, "quiet_hours", "alerts.", str, "", _quiet_hours)
    return AlertsConfig(
        channels=tuple(dict.fromkeys(ch for ch in channels if ch in ALERT_CHANNELS)),
        types=tuple(t for t, on in types.items() if on),
        quiet_hours=_parse_quiet_hours(quiet),
        max_age_hours=float(c.get(raw, "max_age_hours", "alerts.", (int, float), 24.0, _positive)),
    )


def _holiday_problem(entry: str) -> str | None:
    """What is wrong with one ``[detection] holidays`` entry: a date or a calendar code."""
    from offerwatch.models.calendar_days import parse_holiday_calendar, parse_holiday_date

    try:
        if entry.strip()[:1].isdigit():
            parse_holiday_date(entry)
        else:
            parse_holiday_calendar(entry)
    except ValueError as err:
        return str(err)
    return None


#: The keys of an IMAP account that mean nothing for a maildir account.
_IMAP_ONLY_KEYS = {
    "port", "tls", "allow_insecure", "ca_file", "username", "auth", "password_command", "password_env",
    "token_command", "timeout_seconds", "idle",
}
_ACCOUNT_KEYS = {"name", "host", "folders", "addresses", "maildir"} | _IMAP_ONLY_KEYS


def _maildir_account(c: _Checker, raw: dict[str, Any], i: int) -> AccountConfig | None:
    """A ``maildir = PATH`` account: name, maildir, folders, addresses; nothing of a server.

    The path is checked when the account is read, not here: an unmounted disk must fail that
    account's poll (and show in ``offerwatch status``), not every command.
    """
    path = f"accounts[{i}]."
    if "host" in raw:
        c.problems.append(f"accounts[{i}]: both host and maildir are set; an account reads an IMAP server or a "
                          "local maildir, not both: remove one (or make two [[accounts]])")
        return None
    if "name" not in raw:
        c.problems.append(f"{path}name: missing (every account needs a name)")
    for key in sorted(_IMAP_ONLY_KEYS & raw.keys()):
        hint = " (put your address in addresses)" if key == "username" else ""
        c.problems.append(f"{path}{key}: an IMAP setting; this account reads the maildir, remove it{hint}")

    def usable(v: str) -> str | None:
        if not v.strip():
            return "expected the path of a maildir, got an empty string"
        if not (v.startswith("~") or os.path.isabs(v)):
            return f"{v!r} is relative: give an absolute path or one starting with ~ (the service does not run in this folder)"
        return None

    return AccountConfig(
        name=c.get(raw, "name", path, str, f"account{i}"),
        host="",
        username="",
        maildir=c.get(raw, "maildir", path, str, "", usable),
        folders=c.strings(raw, "folders", path),
        addresses=c.strings(raw, "addresses", path),
    )


def _account(c: _Checker, raw: Any, i: int) -> AccountConfig | None:
    path = f"accounts[{i}]."
    if not isinstance(raw, dict):
        c.problems.append(f"accounts[{i}]: expected a table ([[accounts]])")
        return None
    c.table(raw, path, _ACCOUNT_KEYS)
    if "maildir" in raw:
        return _maildir_account(c, raw, i)
    for required in ("name", "host", "username"):
        if required not in raw:
            c.problems.append(f"{path}{required}: missing (every account needs name, and host and username "
                              "or maildir)")
    tls = c.get(raw, "tls", path, str, "implicit", _one_of("implicit", "starttls", "none"))
    insecure = c.get(raw, "allow_insecure", path, bool, False)
    if tls == "none" and not insecure:
        c.problems.append(f"{path}tls: 'none' sends your password in clear text; set allow_insecure = true to accept that")
    auth = c.get(raw, "auth", path, str, "password", _one_of("password", "xoauth2"))
    if auth == "xoauth2" and not raw.get("token_command"):
        c.problems.append(f"{path}token_command: required with auth = \"xoauth2\" (a command that prints an access token)")
    ca_file = c.get(raw, "ca_file", path, str, "")
    if ca_file and not Path(ca_file).expanduser().is_file():
        c.problems.append(f"{path}ca_file: {ca_file} is not a readable file")
    return AccountConfig(
        name=c.get(raw, "name", path, str, f"account{i}"),
        host=c.get(raw, "host", path, str, ""),
        username=c.get(raw, "username", path, str, ""),
        port=c.get(raw, "port", path, int, 993 if tls == "implicit" else 143, _port),
        tls=tls,
        allow_insecure=insecure,
        ca_file=ca_file,
        auth=auth,
        password_command=c.get(raw, "password_command", path, str, ""),
        password_env=c.get(raw, "password_env", path, str, ""),
        token_command=c.get(raw, "token_command", path, str, ""),
        folders=c.strings(raw, "folders", path),
        addresses=c.strings(raw, "addresses", path),
        timeout_seconds=float(c.get(raw, "timeout_seconds", path, (int, float), 60.0, _positive)),
        idle=c.get(raw, "idle", path, bool, False),
    )


def parse_config(data: Mapping[str, Any], source: str = "(config)") -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    c = _Checker()
    c.table(data, "", {"storage", "accounts", "identity", "detection", "digest", "schedule", "alerts"})

    storage = c.get(data, "storage", "", dict, {})
    c.table(storage, "storage.", {"database"})
    db = c.get(storage, "database", "storage.", str, "")

    identity = c.get(data, "identity", "", dict, {})
    c.table(identity, "identity.", {"addresses"})
    addresses = c.strings(identity, "addresses", "identity.")

    accounts: list[AccountConfig] = []
    raw_accounts = c.get(data, "accounts", "", list, [])
    for i, raw in enumerate(raw_accounts):
        acc = _account(c, raw, i)
        if acc is not None:
            accounts.append(acc)
    names = [a.name for a in accounts]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        c.problems.append(f"accounts: the name {dup!r} is used twice; account names must be unique")

    det = c.get(data, "detection", "", dict, {})
    c.table(det, "detection.", {"silence_business_days", "salary_jump_percent", "half_life_days", "holidays", "weights"})
    weights_raw = c.get(det, "weights", "detection.", dict, {})
    weights: dict[str, float] = {}
    for k, v in weights_raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            c.problems.append(f"detection.weights.{k}: expected a number, got {v!r}")
        else:
            weights[k] = float(v)
    holidays = c.strings(det, "holidays", "detection.")
    for h in holidays:
        problem = _holiday_problem(h)
        if problem:
            c.problems.append(f"detection.holidays: {problem}")
    detection = DetectionConfig(
        silence_business_days=c.get(det, "silence_business_days", "detection.", int, 7,
                                    lambda v: None if 1 <= v <= 90 else f"expected 1 to 90 business days, got {v}"),
        salary_jump_percent=float(c.get(det, "salary_jump_percent", "detection.", (int, float), 10.0, _positive)),
        half_life_days=float(c.get(det, "half_life_days", "detection.", (int, float), 14.0, _positive)),
        holidays=holidays,
        weights=weights,
    )

    dig = c.get(data, "digest", "", dict, {})
    c.table(dig, "digest.", {"time", "timezone", "channel", "skip_when_empty", "cold_business_days", "smtp", "imap", "file"})
    clock = c.get(dig, "time", "digest.", str, "07:30", _clock)
    hh, mm = (int(x) for x in clock.split(":"))
    channel = c.get(dig, "channel", "digest.", str, "file", _one_of("smtp", "imap", "file"))
    smtp_raw = c.get(dig, "smtp", "digest.", dict, {})
    c.table(smtp_raw, "digest.smtp.", {"host", "port", "tls", "allow_insecure", "ca_file", "username",
                                       "password_command", "password_env", "to", "from"})
    smtp_tls = c.get(smtp_raw, "tls", "digest.smtp.", str, "implicit", _one_of("implicit", "starttls", "none"))
    smtp = SmtpConfig(
        host=c.get(smtp_raw, "host", "digest.smtp.", str, ""),
        port=c.get(smtp_raw, "port", "digest.smtp.", int, 465 if smtp_tls == "implicit" else 587, _port),
        tls=smtp_tls,
        allow_insecure=c.get(smtp_raw, "allow_insecure", "digest.smtp.", bool, False),
        ca_file=c.get(smtp_raw, "ca_file", "digest.smtp.", str, ""),
        username=c.get(smtp_raw, "username", "digest.smtp.", str, ""),
        password_command=c.get(smtp_raw, "password_command", "digest.smtp.", str, ""),
        password_env=c.get(smtp_raw, "password_env", "digest.smtp.", str, ""),
        to=c.get(smtp_raw, "to", "digest.smtp.", str, ""),
        sender=c.get(smtp_raw, "from", "digest.smtp.", str, ""),
    )
    if channel == "smtp":
        for key in ("host", "to"):
            if not getattr(smtp, key):
                c.problems.append(f"digest.smtp.{key}: required with channel = \"smtp\"")
        if smtp_tls == "none" and not smtp.allow_insecure:
            c.problems.append("digest.smtp.tls: 'none' sends your password in clear text; set allow_insecure = true to accept that")
    imap_raw = c.get(dig, "imap", "digest.", dict, {})
    c.table(imap_raw, "digest.imap.", {"account", "folder"})
    servers = [a.name for a in accounts if not a.maildir]
    imap_account = c.get(imap_raw, "account", "digest.imap.", str, servers[0] if servers else "")
    if channel == "imap" and imap_account not in names:
        c.problems.append(f"digest.imap.account: {imap_account or '(empty)'!r} is not a configured IMAP account")
    elif channel == "imap" and imap_account not in servers:
        c.problems.append(f"digest.imap.account: {imap_account!r} reads a local maildir; the digest is put into a "
                          "folder on an IMAP server: name an account with a host, or use channel = \"smtp\" or \"file\"")
    file_raw = c.get(dig, "file", "digest.", dict, {})
    c.table(file_raw, "digest.file.", {"path"})
    file_path = c.get(file_raw, "path", "digest.file.", str, "")
    if file_path and Path(file_path).suffix.lower() not in (".html", ".htm", ".txt", ".eml"):
        c.problems.append(f"digest.file.path: {file_path!r} should end in .html, .txt or .eml (what the file holds)")
    digest = DigestConfig(
        time=time(hh, mm),
        timezone=c.get(dig, "timezone", "digest.", str, "", _zone),
        channel=channel,
        skip_when_empty=c.get(dig, "skip_when_empty", "digest.", bool, False),
        # the default stays above a long silence threshold, so going quiet always comes first
        cold_business_days=c.get(dig, "cold_business_days", "digest.", int, max(30, detection.silence_business_days + 1),
                                 _cold_days(detection.silence_business_days)),
        smtp=smtp,
        imap_account=imap_account,
        imap_folder=c.get(imap_raw, "folder", "digest.imap.", str, "offerwatch"),
        file_path=file_path,
    )

    sch = c.get(data, "schedule", "", dict, {})
    c.table(sch, "schedule.", {"poll_minutes", "jitter_seconds"})
    schedule = ScheduleConfig(
        poll_minutes=float(c.get(sch, "poll_minutes", "schedule.", (int, float), 10.0, _positive)),
        jitter_seconds=float(c.get(sch, "jitter_seconds", "schedule.", (int, float), 30.0,
                                   lambda v: None if v >= 0 else "expected 0 or more seconds")),
    )
    alerts = _alerts(c, data, channel)
    if c.problems:
        raise ConfigError(source, c.problems)
    return Config(
        database=Path(db).expanduser() if db else default_database_path(),
        accounts=tuple(accounts),
        identity_addresses=addresses,
        detection=detection,
        digest=digest,
        schedule=schedule,
        alerts=alerts,
        source=source,
    )


def load_config(path: str | os.PathLike[str] | None, *, required: bool = False) -> Config:
    """Load and validate a config file; a missing default file gives the defaults.

    A file that other users can change is refused before it is read, as ssh refuses its
    config: its ``password_command`` and ``token_command`` run through a shell, and its hosts
    receive the password from the keyring.
    """
    p = Path(path).expanduser() if path else default_config_path()
    if not p.exists():
        if required or path:
            raise ConfigError(str(p), ["file not found: create one with `offerwatch init` or copy config.example.toml"])
        return Config(missing_file=str(p))
    try:
        with open(p, "rb") as f:
            problem = unsafe_permissions(os.fstat(f.fileno()), p)
            if problem:
                raise ConfigError(str(p), [problem])
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(p), [f"not valid TOML: {err}"]) from err
    except OSError as err:
        raise ConfigError(str(p), [f"cannot read: {err.strerror}"]) from err
    return parse_config(data, str(p))


def unsafe_permissions(st: os.stat_result, path: Path) -> str | None:
    """Why a config file with this ``stat`` is not safe to act on, or ``None``.

    The rule of OpenSSH (with Debian's allowance for user-private groups): the file belongs to
    the user or root, and nobody else may write it. Group write is fine when the group has no
    member but the owner (the user's own group, as ``umask 002`` systems make them).
    """
    import stat as stat_

    if os.name != "posix" or _is_null_device(st):
        return None
    uid = os.getuid()
    if st.st_uid not in (uid, 0):
        return (f"belongs to another user (uid {st.st_uid}) who could change the commands it runs and the servers "
                f"it sends your password to; take it over (chown {uid} {path}) or use a config of your own")
    mode = stat_.S_IMODE(st.st_mode)
    if mode & 0o002 or (mode & 0o020 and not _private_group(st.st_gid, st.st_uid)):
        who = "every user" if mode & 0o002 else "other members of its group"
        return (f"can be changed by {who} (mode {mode:04o}): its password_command runs through a shell and its "
                f"servers receive your password. Run: chmod go-w {path}")
    return None


def _is_null_device(st: os.stat_result) -> bool:
    """Whether ``st`` is the null device: ``--config /dev/null`` (the usual "no config at all")
    reads as empty whoever may write to it, so its mode 0666 puts nothing at risk."""
    import stat as stat_

    if not stat_.S_ISCHR(st.st_mode):
        return False
    try:
        return st.st_rdev == os.stat(os.devnull).st_rdev
    except OSError:
        return False


def _private_group(gid: int, owner: int) -> bool:
    """Whether the owner is the only member of group ``gid`` (primary or supplementary)."""
    import grp
    import pwd

    try:
        group = grp.getgrgid(gid)
        owner_name = pwd.getpwuid(owner).pw_name
    except KeyError:
        return False
    primary = [u for u in pwd.getpwall() if u.pw_gid == gid]
    if any(u.pw_uid != owner for u in primary):
        return False
    if any(member != owner_name for member in group.gr_mem):
        return False
    return bool(primary or group.gr_mem)
