"""The pieces of ``offerwatch init``: provider presets, keyring detection, the login test and
the config file it writes (mode 0600, never a secret in it).

Example::

    preset = preset_for("maya@fastmail.com")      # Preset(key='fastmail', host='imap.fastmail.com', ...)
    text = render_config(Answers(address="maya@fastmail.com", host=preset.host, ...))
    write_config(Path("~/.config/offerwatch/config.toml").expanduser(), text)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    host: str
    port: int = 993
    tls: str = "implicit"
    auth: str = "password"  # the recommended auth
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_tls: str = "implicit"
    note: str = ""  # what the user must know (app passwords, OAuth2)
    domains: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {p.key: p for p in (
    Preset(
        "gmail", "Gmail / Google Workspace", "imap.gmail.com", smtp_host="smtp.gmail.com",
        note=("Gmail does not accept your normal password over IMAP. Either create an app password "
              "(needs 2-Step Verification: https://myaccount.google.com/apppasswords) and paste it below, "
              'or use auth = "xoauth2" with a token_command that prints an OAuth2 access token '
              "(for example `oama access you@gmail.com`)."),
        domains=("gmail.com", "googlemail.com"),
    ),
    Preset(
        "outlook", "Outlook.com / Microsoft 365", "outlook.office365.com", auth="xoauth2",
        smtp_host="smtp.office365.com", smtp_port=587, smtp_tls="starttls",
        note=("Microsoft no longer accepts passwords over IMAP (basic authentication is switched off). "
              "Use xoauth2 with a token_command that prints an access token, for example "
              "`oama access you@outlook.com` or `mutt_oauth2.py you.tokens`; offerwatch runs it at each login."),
        domains=("outlook.com", "hotmail.com", "live.com", "msn.com", "outlook.de", "hotmail.co.uk", "office365.com"),
    ),
    Preset(
        "fastmail", "Fastmail", "imap.fastmail.com", smtp_host="smtp.fastmail.com",
        note=("Fastmail needs an app password for IMAP: Settings > Privacy & Security > Manage app passwords, "
              "with access to 'Mail (IMAP/POP/SMTP)'."),
        domains=("fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "messagingengine.com"),
    ),
    Preset(
        "icloud", "iCloud Mail", "imap.mail.me.com", smtp_host="smtp.mail.me.com", smtp_port=587, smtp_tls="starttls",
        note=("iCloud needs an app-specific password: https://account.apple.com > Sign-In and Security > "
              "App-Specific Passwords."),
        domains=("icloud.com", "me.com", "mac.com"),
    ),
    Preset(
        "yahoo", "Yahoo Mail", "imap.mail.yahoo.com", smtp_host="smtp.mail.yahoo.com",
        note="Yahoo needs an app password: Account Info > Account Security > Generate app password.",
        domains=("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de"),
    ),
    Preset(
        "generic", "another provider or a company server", "", smtp_host="",
        note=("Ask your provider or IT for the IMAP server name. Port 993 with TLS is the usual setting; "
              "if you sign in with two-factor authentication you may need an app password."),
    ),
)}


def preset_for(address: str) -> Preset:
    """The preset for an address's domain (``yahoo.*`` included), else ``generic``."""
    domain = address.rpartition("@")[2].lower().strip()
    for preset in PRESETS.values():
        if domain in preset.domains:
            return preset
    if domain.startswith("yahoo."):
        return PRESETS["yahoo"]
    return PRESETS["generic"]


def guess_host(address: str) -> str:
    """``imap.<domain>``; a domain without a dot (``localhost``, an intranet name) is the host itself."""
    domain = address.rpartition("@")[2].lower().strip()
    if not domain or "." not in domain:
        return domain
    return f"imap.{domain}"


def keyring_problem() -> str | None:
    """Why the system keyring cannot store a password here, or None when it can."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as err:  # noqa: BLE001 - a broken keyring installation
        return f"the keyring module cannot be loaded ({type(err).__name__})"
    try:
        backend = keyring.get_keyring()
    except Exception as err:  # noqa: BLE001
        return f"no keyring backend could be loaded ({type(err).__name__})"
    if isinstance(backend, fail.Keyring):
        return "no system keyring is available (common on a server or in a container without a desktop session)"
    chained = getattr(backend, "backends", None)
    if chained is not None and not chained:
        return "no system keyring is available (no backend found)"
    try:
        if float(getattr(backend, "priority", 1)) <= 0:
            return f"the keyring backend {type(backend).__name__} is not usable"
    except (TypeError, ValueError):
        pass
    return None


@dataclass
class Answers:
    """Everything ``offerwatch init`` asks; the config is rendered from it."""

    address: str
    name: str = "personal"
    host: str = ""
    port: int = 993
    tls: str = "implicit"
    ca_file: str = ""
    username: str = ""
    auth: str = "password"
    secret_store: str = "keyring"  # keyring | command | env
    password_command: str = ""
    password_env: str = ""
    token_command: str = ""
    folders: list[str] = field(default_factory=list)
    database: str = ""
    digest_time: str = "07:30"
    timezone: str = ""
    channel: str = "smtp"  # smtp | imap | file
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_tls: str = "implicit"
    smtp_ca_file: str = ""
    digest_file: str = ""
    poll_minutes: float = 10.0


def _connection(host: str, port: int, tls: str, ca_file: str | None) -> dict[str, Any]:
    """The server block an IMAP account and the SMTP digest channel share."""
    block: dict[str, Any] = {"host": host, "port": port, "tls": tls}
    if tls == "none":
        block["allow_insecure"] = True
    if ca_file:
        block["ca_file"] = ca_file
    return block


def _section(table: dict[str, Any], *notes: str) -> str:
    """One TOML table written by tomli-w (every string escaped as TOML wants it, ``\\x7f``
    included), followed by comment lines. Notes never hold an answer: a comment cannot escape."""
    import tomli_w

    return tomli_w.dumps(table) + "".join(f"# {n}\n" for n in notes)


def render_config(a: Answers) -> str:
    """The config file for ``a``: tables by tomli-w, with comments that say where secrets are."""
    parts = [(
        "# offerwatch configuration, written by `offerwatch init`.\n"
        "# Every option is documented in config.example.toml; check this file with `offerwatch config check`.\n"
        "# No password is stored here: see password_command / password_env / the system keyring below.\n"
    )]
    if a.database:
        parts.append(_section({"storage": {"database": a.database}}))
    parts.append(_section({"identity": {"addresses": [a.address]}}))
    account: dict[str, Any] = {"name": a.name, **_connection(a.host, a.port, a.tls, a.ca_file),
                               "username": a.username or a.address, "auth": a.auth}
    notes = []
    if a.auth == "xoauth2":
        account["token_command"] = a.token_command
    elif a.secret_store == "command":
        account["password_command"] = a.password_command
    elif a.secret_store == "env":
        account["password_env"] = a.password_env
    else:
        notes.append('password: in the system keyring (service "offerwatch", key: this account\'s name)')
    if a.folders:
        account["folders"] = list(a.folders)
    else:
        notes.append("folders: INBOX and the Sent folder (set folders = [...] to choose)")
    parts.append(_section({"accounts": [account]}, *notes))
    digest: dict[str, Any] = {"time": a.digest_time}
    if a.timezone:
        digest["timezone"] = a.timezone
    digest["channel"] = a.channel
    notes = []
    if a.channel == "smtp":
        smtp: dict[str, Any] = {**_connection(a.smtp_host, a.smtp_port, a.smtp_tls, a.smtp_ca_file),
                                "username": a.username or a.address, "to": a.address}
        if a.auth != "xoauth2" and a.secret_store == "command":
            smtp["password_command"] = a.password_command
        elif a.auth != "xoauth2" and a.secret_store == "env":
            smtp["password_env"] = a.password_env
        else:
            notes.append('password: the keyring entry "digest.smtp", else the account\'s (same username)')
        digest["smtp"] = smtp
    elif a.channel == "imap":
        digest["imap"] = {"account": a.name, "folder": "offerwatch"}
    elif a.digest_file:
        digest["file"] = {"path": a.digest_file}
    parts.append(_section({"digest": digest}, *notes))
    parts.append(_section({"schedule": {"poll_minutes": a.poll_minutes}}))
    return "\n".join(parts)


def write_config(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def list_all_folders(source: object) -> list[str]:
    """Every folder name on the server (connects if needed), for the user to choose from."""
    listing = source._call("listing folders", lambda c: c.list_folders())  # type: ignore[attr-defined]  # noqa: SLF001
    names = []
    for _flags, _delim, name in listing:
        names.append(name.decode() if isinstance(name, bytes) else str(name))
    return sorted(names, key=lambda n: (n.upper() != "INBOX", n.lower()))
