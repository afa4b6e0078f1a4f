"""The IMAP source reads a real Dovecot read-only, incrementally, size-capped, and fails clearly."""

from __future__ import annotations

import base64
import email
import hashlib
import email.policy
import logging
from collections.abc import Iterator
from datetime import date, datetime, timezone
from email.message import EmailMessage
from typing import Any

import pytest
from dovecot import DovecotServer, DovecotUser
from imapclient import IMAPClient

from offerwatch.daemon.sources.base import FolderInfo
from offerwatch.daemon.sources.imap import (
    ImapAuthError,
    ImapConfigError,
    ImapConnectionError,
    ImapSource,
    ImapTlsError,
    ImapUidValidityChanged,
    RetryPolicy,
    connect_with_retry,
)
from offerwatch.models.domain import RawMessage

pytestmark = pytest.mark.integration

ACCOUNT = "work-mail"

#: What a read-only reader may send. Anything else (SELECT, STORE, COPY, MOVE, EXPUNGE,
#: DELETE, APPEND, CLOSE...) fails the test.
ALLOWED_COMMANDS = {
    "CAPABILITY", "LOGIN", "AUTHENTICATE", "STARTTLS", "ID", "NAMESPACE", "LIST", "STATUS",
    "EXAMINE", "SEARCH", "FETCH", "NOOP", "LOGOUT",
}


class CommandRecorder:
    """Builds IMAPClients whose every line sent to the server is kept, for assertions."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.clients = 0

    def factory(self, *args: Any, **kwargs: Any) -> IMAPClient:
        client = IMAPClient(*args, **kwargs)
        self.clients += 1
        imap = client._imap
        original_send = imap.send

        def send(data: bytes) -> None:
            self.lines.append(bytes(data))
            original_send(data)

        imap.send = send  # type: ignore[method-assign]
        return client

    def commands(self) -> list[tuple[str, str]]:
        """``[(command, rest of line)]`` with ``UID`` prefixes folded in; LOGIN arguments dropped."""
        out = []
        for raw in b"".join(self.lines).split(b"\r\n"):
            words = raw.decode("utf-8", "replace").split(" ", 3)
            if len(words) < 2 or not words[0] or words[0] in {"DONE"}:
                continue
            name = words[1].upper()
            rest = " ".join(words[2:])
            if name == "UID" and len(words) > 2:
                name = words[2].upper()
                rest = words[3] if len(words) > 3 else ""
            if name == "LOGIN":
                rest = "(credentials)"
            out.append((name, rest))
        return out

    def assert_read_only(self) -> None:
        commands = self.commands()
        assert commands, "nothing was recorded"
        for name, rest in commands:
            assert name in ALLOWED_COMMANDS, f"forbidden IMAP command {name} {rest}"
            if name == "FETCH":
                upper = rest.upper()
                # Every body section must be a PEEK; RFC822 (not .SIZE) and BINARY set \Seen too.
                assert upper.count("BODY[") == 0, f"non-PEEK body fetch: {rest}"
                assert "BINARY[" not in upper, f"non-PEEK binary fetch: {rest}"
                assert "RFC822 " not in upper + " " and "RFC822)" not in upper and "RFC822.TEXT" not in upper, rest
                assert "RFC822.HEADER" not in upper, rest


def mail(subject: str, body: str = "Hello,\n\nthanks for your time.\n", **headers: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = headers.pop("sender", "Jo Recruiter <jo@acme.example>")
    msg["To"] = "Sam <sam@example.net>"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@test.example>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return msg.as_bytes()


def make_source(server: DovecotServer, user: DovecotUser, **overrides: Any) -> ImapSource:
    params: dict[str, Any] = dict(
        host=server.host,
        port=server.imaps_port,
        tls="implicit",
        ca_file=server.ca_file,
        username=user.name,
        secret=lambda: user.password,
        timeout=10,
    )
    params.update(overrides)
    return ImapSource(ACCOUNT, **params)


@pytest.fixture
def user(dovecot_user: DovecotUser) -> DovecotUser:
    """A fresh mailbox per test: the server is shared, the mail is not."""
    return dovecot_user


@pytest.fixture
def recorder() -> CommandRecorder:
    return CommandRecorder()


@pytest.fixture
def source(dovecot: DovecotServer, user: DovecotUser, recorder: CommandRecorder) -> Iterator[ImapSource]:
    src = make_source(dovecot, user, client_factory=recorder.factory)
    yield src
    src.close()


def read_all(src: ImapSource, folder: FolderInfo, after_uid: int = 0, since: date | None = None,
             until: date | None = None) -> list[RawMessage]:
    return list(src.messages(folder, after_uid, since, until))


def inbox(src: ImapSource) -> FolderInfo:
    return next(f for f in src.folders() if f.name == "INBOX")


# -- folders ----------------------------------------------------------------------------------


def test_default_folders_are_inbox_and_special_use_sent(source: ImapSource, user: DovecotUser) -> None:
    folders = source.folders()
    assert [(f.name, f.role) for f in folders] == [("INBOX", "inbox"), ("Sent", "sent")]
    assert folders[0].uidvalidity == user.uidvalidity("INBOX")
    assert folders[1].uidvalidity == user.uidvalidity("Sent")
    assert source.problems == []


def test_configured_folders_are_used_and_a_missing_one_is_reported(
    dovecot: DovecotServer, user: DovecotUser, caplog: pytest.LogCaptureFixture
) -> None:
    user.create_folder("Archive")
    with make_source(dovecot, user, folders=["inbox", "Archive", "Recruiters", "Sent"]) as src:
        folders = src.folders()
    assert [(f.name, f.role) for f in folders] == [("INBOX", "inbox"), ("Archive", None), ("Sent", "sent")]
    assert len(src.problems) == 1 and "'Recruiters' does not exist" in src.problems[0]
    assert "Archive" in src.problems[0]  # says what exists
    assert ACCOUNT in caplog.text


# -- reading ----------------------------------------------------------------------------------


def test_reads_appended_messages_in_uid_order_byte_for_byte(source: ImapSource, user: DovecotUser) -> None:
    sent = [mail(f"Message {i}") for i in range(5)]
    uids = user.append_many("INBOX", sent)
    got = read_all(source, inbox(source))
    assert [m.location.uid for m in got] == uids == sorted(uids)
    assert [m.data for m in got] == sent
    first = got[0]
    assert first.location.account == ACCOUNT and first.location.folder == "INBOX"
    assert first.location.key == str(first.location.uid)
    assert first.location.uidvalidity == user.uidvalidity("INBOX")
    assert first.size == len(sent[0]) and not first.truncated
    assert first.internal_date is not None and first.internal_date.tzinfo is not None
    assert source.count(inbox(source), 0, None, None) == 5


def test_sent_folder_messages_are_read_with_their_folder(source: ImapSource, user: DovecotUser) -> None:
    user.append("Sent", mail("My reply", sender="Sam <sam@example.net>"), flags=[b"\\Seen"])
    sent = next(f for f in source.folders() if f.role == "sent")
    got = read_all(source, sent)
    assert len(got) == 1 and got[0].location.folder == "Sent" and b"My reply" in got[0].data


def test_after_uid_returns_only_newer_messages(source: ImapSource, user: DovecotUser) -> None:
    uids = user.append_many("INBOX", [mail(f"M{i}") for i in range(4)])
    folder = inbox(source)
    assert [m.location.uid for m in read_all(source, folder, after_uid=uids[1])] == uids[2:]
    assert read_all(source, folder, after_uid=uids[-1]) == []
    assert read_all(source, folder, after_uid=uids[-1] + 50) == []
    assert source.count(folder, uids[-1], None, None) == 0


def test_uid_star_returning_the_last_message_is_filtered(
    source: ImapSource, user: DovecotUser, recorder: CommandRecorder
) -> None:
    """`UID n:*` matches the highest existing UID even when it is below n (RFC 3501)."""
    uids = user.append_many("INBOX", [mail(f"M{i}") for i in range(3)])
    user.delete_message("INBOX", uids[-1])  # UIDNEXT stays above: the server must be asked
    folder = inbox(source)
    assert read_all(source, folder, after_uid=uids[-2]) == []
    searches = [rest for name, rest in recorder.commands() if name == "SEARCH"]
    assert searches and f"{uids[-2] + 1}:*" in searches[-1]


def test_since_and_until_select_by_arrival_day(source: ImapSource, user: DovecotUser) -> None:
    for month in (1, 2, 3):
        user.append("INBOX", mail(f"Month {month}"), date=datetime(2026, month, 10, 12, 0, tzinfo=timezone.utc))
    folder = inbox(source)

    def subjects(**kw: Any) -> list[str]:
        return [email.message_from_bytes(m.data)["Subject"] for m in read_all(source, folder, **kw)]

    assert subjects(since=date(2026, 2, 1)) == ["Month 2", "Month 3"]
    assert subjects(until=date(2026, 3, 1)) == ["Month 1", "Month 2"]
    assert subjects(since=date(2026, 2, 1), until=date(2026, 3, 1)) == ["Month 2"]
    assert subjects(since=date(2026, 2, 10), until=date(2026, 2, 11)) == ["Month 2"]  # inclusive, exclusive
    first = read_all(source, folder)[0].location.uid
    assert subjects(after_uid=first, since=date(2026, 1, 1)) == ["Month 2", "Month 3"]


def big_offer_mail(attachment_bytes: int = 5 * 1024 * 1024) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "Jo Recruiter <jo@acme.example>"
    msg["To"] = "sam@example.net"
    msg["Subject"] = "Your offer letter"
    msg["Message-ID"] = "<offer@acme.example>"
    msg.set_content("Hi Sam,\n\nWe are pleased to offer you the role. The letter is attached.\n")
    msg.add_alternative("<p>We are <b>pleased to offer</b> you the role.</p>", subtype="html")
    payload = bytes(range(256)) * (attachment_bytes // 256)
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="Offer_Letter.pdf")
    return msg.as_bytes()


def test_large_message_is_capped_and_keeps_its_text(
    dovecot: DovecotServer, user: DovecotUser, recorder: CommandRecorder
) -> None:
    big = big_offer_mail()
    small = mail("Small one")
    uids = [user.append("INBOX", small), user.append("INBOX", big), user.append("INBOX", small)]
    cap = 1024 * 1024
    with make_source(dovecot, user, client_factory=recorder.factory, max_message_bytes=cap) as src:
        got = read_all(src, inbox(src))
    assert [m.location.uid for m in got] == uids
    assert [m.truncated for m in got] == [False, True, False]
    large = got[1]
    assert large.size == len(big) > 5 * 1024 * 1024
    assert len(large.data) < cap
    parsed = email.message_from_bytes(large.data, policy=email.policy.default)
    assert parsed["Subject"] == "Your offer letter" and parsed["Message-ID"] == "<offer@acme.example>"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and "pleased to offer you the role" in plain.get_content()
    assert html is not None and "pleased to offer" in html.get_content()
    attachments = [p.get_filename() for p in parsed.iter_attachments()]
    assert attachments == ["Offer_Letter.pdf"]  # its name survives, its 5 MB do not
    fetches = [rest for name, rest in recorder.commands() if name == "FETCH"]
    whole = [f for f in fetches if "BODY.PEEK[]" in f]
    assert whole and all(str(uids[1]) not in f.split(" ", 1)[0].split(",") for f in whole)
    # The structure, parsed in Python, is asked only of the message read part by part.
    structures = [f.split(" ", 1)[0] for f in fetches if "BODYSTRUCTURE" in f]
    assert structures == [str(uids[1])]
    recorder.assert_read_only()


def test_huge_header_block_is_fetched_capped_and_the_body_kept(
    dovecot: DovecotServer, user: DovecotUser, recorder: CommandRecorder
) -> None:
    """A 3 MB header (thousands of Received lines, Content-Type last) is read only up to
    the header cap, and the multipart body is still found and read."""
    big = big_offer_mail(attachment_bytes=64 * 1024)
    head, _, body = big.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    mime = [ln for ln in lines if ln.lower().startswith((b"content-type", b"mime-version", b"content-transfer"))]
    other = [ln for ln in lines if ln not in mime]
    filler = [b"Received: from relay%d.example by mx.example; Mon, 5 Oct 2026 09:00:00 +0000" % i for i in range(40_000)]
    huge = b"\r\n".join(other + filler + mime) + b"\r\n\r\n" + body
    assert len(huge) > 3 * 1024 * 1024
    uid = user.append("INBOX", huge)
    cap = 1024 * 1024
    with make_source(dovecot, user, client_factory=recorder.factory, max_message_bytes=cap) as src:
        (got,) = read_all(src, inbox(src))
    assert got.location.uid == uid and got.truncated and len(got.data) < cap
    parsed = email.message_from_bytes(got.data, policy=email.policy.default)
    assert parsed["Subject"] == "Your offer letter"
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None and "pleased to offer you the role" in plain.get_content()
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["Offer_Letter.pdf"]
    fetches = " ".join(rest for name, rest in recorder.commands() if name == "FETCH")
    assert "BODY.PEEK[HEADER]<0." in fetches and "BODY.PEEK[HEADER] " not in fetches
    recorder.assert_read_only()


def test_large_single_part_message_is_cut_at_a_line_end(dovecot: DovecotServer, user: DovecotUser) -> None:
    line = "This is a very long newsletter line about many job openings.\n"
    body = line * (40_000)  # about 2.5 MB of text
    uid = user.append("INBOX", mail("Long newsletter", body))
    with make_source(dovecot, user, max_message_bytes=256 * 1024) as src:
        (got,) = read_all(src, inbox(src))
    assert got.location.uid == uid and got.truncated and len(got.data) <= 256 * 1024
    parsed = email.message_from_bytes(got.data, policy=email.policy.default)
    text = parsed.get_content().replace("\r\n", "\n")
    assert parsed["Subject"] == "Long newsletter"
    assert text.startswith(line) and text.endswith(line)


def test_reading_changes_no_flag_and_sends_only_read_only_commands(
    source: ImapSource, user: DovecotUser, recorder: CommandRecorder
) -> None:
    user.append("INBOX", mail("Unread"))
    user.append("INBOX", mail("Flagged"), flags=[b"\\Flagged"])
    user.append("INBOX", mail("Read"), flags=[b"\\Seen", b"\\Answered"])
    user.append("Sent", mail("Mine"), flags=[b"\\Seen"])

    def flags() -> dict[str, dict[int, tuple[bytes, ...]]]:
        # \Recent belongs to whichever session saw the message first; it is not ours to keep.
        return {
            f: {uid: tuple(x for x in fl if x != b"\\Recent") for uid, fl in user.flags(f).items()}
            for f in ("INBOX", "Sent")
        }

    before = flags()
    folders = source.folders()
    for folder in folders:
        source.count(folder, 0, None, None)
        assert len(read_all(source, folder)) == len(before[folder.name])
        assert flags() == before  # after every pass, not only at the end
    source.close()
    assert flags() == before
    assert before["INBOX"][min(before["INBOX"])] == ()  # still unread
    recorder.assert_read_only()
    assert any(name == "EXAMINE" for name, _ in recorder.commands())


def test_recorder_catches_a_non_peek_fetch(dovecot: DovecotServer, user: DovecotUser) -> None:
    """The read-only check must be able to fail, or it proves nothing."""
    user.append("INBOX", mail("x"))
    rec = CommandRecorder()
    client = rec.factory(dovecot.host, dovecot.imap_port, ssl=False)
    client.login(user.name, user.password)
    client.select_folder("INBOX", readonly=True)
    client.fetch([1], ["BODY[]"])
    client.logout()
    with pytest.raises(AssertionError, match="non-PEEK"):
        rec.assert_read_only()


def test_uidvalidity_change_is_detected(source: ImapSource, user: DovecotUser) -> None:
    user.append("INBOX", mail("Before"))
    folder = inbox(source)
    assert len(read_all(source, folder)) == 1
    new = user.recreate_folder("INBOX")
    with pytest.raises(ImapUidValidityChanged) as info:
        read_all(source, folder, after_uid=1)
    assert (info.value.old, info.value.new) == (folder.uidvalidity, new)
    assert ACCOUNT in str(info.value) and "INBOX" in str(info.value)
    again = inbox(source)
    assert again.uidvalidity == new
    assert [email.message_from_bytes(m.data)["Subject"] for m in read_all(source, again)] == ["Before"]


def test_message_deleted_between_search_and_fetch_is_skipped(
    dovecot: DovecotServer, user: DovecotUser, caplog: pytest.LogCaptureFixture
) -> None:
    uids = user.append_many("INBOX", [mail(f"M{i}") for i in range(3)])
    victim = uids[1]

    class DeletingClient(IMAPClient):
        deleted = False

        def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> Any:
            if not DeletingClient.deleted:
                DeletingClient.deleted = True
                user.delete_message("INBOX", victim)  # another client, between SEARCH and FETCH
            return super().fetch(messages, data, modifiers)

    caplog.set_level(logging.INFO, logger="offerwatch")
    with make_source(dovecot, user, client_factory=DeletingClient) as src:
        got = read_all(src, inbox(src))
    assert DeletingClient.deleted
    assert [m.location.uid for m in got] == [uids[0], uids[2]]
    assert f"UID {victim}" in caplog.text and src.stats.skipped == 1


# -- TLS, authentication, secrets -------------------------------------------------------------


def test_self_signed_certificate_is_refused_without_ca_file(dovecot: DovecotServer, user: DovecotUser) -> None:
    src = make_source(dovecot, user, ca_file=None)
    with pytest.raises(ImapTlsError) as info:
        src.connect()
    assert "ca_file" in str(info.value) and ACCOUNT in str(info.value)
    assert not info.value.transient
    with pytest.raises(ImapTlsError):
        connect_with_retry(src, RetryPolicy(sleep=lambda s: pytest.fail("a TLS error must not be retried")))


def test_ca_file_makes_implicit_tls_and_starttls_work(dovecot: DovecotServer, user: DovecotUser) -> None:
    user.append("INBOX", mail("Over TLS"))
    with make_source(dovecot, user) as src:
        assert len(read_all(src, inbox(src))) == 1
    with make_source(dovecot, user, tls="starttls", port=dovecot.imap_port) as src:
        assert len(read_all(src, inbox(src))) == 1
    with pytest.raises(ImapTlsError, match="not trusted"):
        make_source(dovecot, user, tls="starttls", port=dovecot.imap_port, ca_file=None).connect()


def test_implicit_tls_on_a_plain_port_says_which_setting_to_change(dovecot: DovecotServer, user: DovecotUser) -> None:
    with pytest.raises(ImapTlsError, match="starttls"):
        make_source(dovecot, user, port=dovecot.imap_port).connect()


def test_plaintext_is_refused_unless_allow_insecure(dovecot: DovecotServer, user: DovecotUser) -> None:
    recorder = CommandRecorder()
    with pytest.raises(ImapConfigError, match="allow_insecure"):
        make_source(dovecot, user, tls="none", port=dovecot.imap_port, client_factory=recorder.factory)
    assert recorder.clients == 0  # refused before any connection
    user.append("INBOX", mail("Plain"))
    with make_source(dovecot, user, tls="none", port=dovecot.imap_port, allow_insecure=True) as src:
        assert len(read_all(src, inbox(src))) == 1


def test_wrong_password_is_an_auth_error_naming_the_account(dovecot: DovecotServer, user: DovecotUser) -> None:
    wrong = "Wrong-Pa55word-do-not-show"
    src = make_source(dovecot, user, secret=lambda: wrong)
    with pytest.raises(ImapAuthError) as info:
        src.connect()
    text = str(info.value)
    assert ACCOUNT in text and user.name in text and "check the username and the password" in text
    assert wrong not in text and wrong not in repr(info.value.args)
    assert wrong not in str(info.value.__cause__) and wrong not in str(info.value.__context__)
    assert not info.value.transient and not src.connected


def test_auth_errors_are_not_retried_and_stop_after_three(dovecot: DovecotServer, user: DovecotUser) -> None:
    recorder = CommandRecorder()
    src = make_source(dovecot, user, secret=lambda: "nope-nope", client_factory=recorder.factory)
    sleeps: list[float] = []
    policy = RetryPolicy(sleep=sleeps.append)
    for _ in range(3):
        with pytest.raises(ImapAuthError):
            connect_with_retry(src, policy)
    assert recorder.clients == 3 and sleeps == []
    with pytest.raises(ImapAuthError, match="not trying again after 3"):
        connect_with_retry(src, policy)
    assert recorder.clients == 3  # the server was not asked a fourth time
    policy.reset(ACCOUNT)
    good = make_source(dovecot, user)
    connect_with_retry(good, policy)
    good.close()


def test_connection_refused_is_transient_and_retried_with_backoff(dovecot: DovecotServer, user: DovecotUser) -> None:
    from dovecot import _free_port

    src = make_source(dovecot, user, port=_free_port())
    sleeps: list[float] = []
    with pytest.raises(ImapConnectionError) as info:
        connect_with_retry(src, RetryPolicy(attempts=4, base_delay=1.0, sleep=sleeps.append))
    assert info.value.transient and ACCOUNT in str(info.value)
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_transient_failure_then_success(dovecot: DovecotServer, user: DovecotUser) -> None:
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> IMAPClient:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionResetError("reset by peer")
        return IMAPClient(*args, **kwargs)

    src = make_source(dovecot, user, client_factory=flaky)
    connect_with_retry(src, RetryPolicy(sleep=lambda s: None))
    assert src.connected and calls["n"] == 3
    src.close()


def test_password_never_appears_in_logs_or_errors(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = 'S3cr3t "quoted" pa\\ss-\u00e9'  # quotes, backslash and non-ASCII: every encoding path
    user = dovecot.create_user(password=secret)
    user.append("INBOX", mail("Hello"))
    caplog.set_level(logging.DEBUG)  # everything, imapclient's protocol trace included
    # The CLI quietens imapclient's logger; a CLI test earlier in this process may have done so.
    caplog.set_level(logging.DEBUG, logger="imapclient")
    with make_source(dovecot, user, secret=lambda: secret) as src:
        assert len(read_all(src, inbox(src))) == 1
    errors = []
    for wrong in (secret + "x", "plainwrong-1234"):
        with pytest.raises(ImapAuthError) as info:
            make_source(dovecot, user, secret=lambda w=wrong: w).connect()  # type: ignore[misc]
        errors.append(str(info.value))
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "LOGIN" in logged or "AUTHENTICATE" in logged  # the trace was really captured
    sasl_plain = base64.b64encode(f"\0{user.name}\0{secret}".encode()).decode()
    for text in (logged, *errors):
        assert secret not in text and "plainwrong-1234" not in text
        assert "S3cr3t" not in text and sasl_plain not in text


# -- Gmail ------------------------------------------------------------------------------------


class GmailFlavouredClient(IMAPClient):
    """Dovecot dressed as Gmail: X-GM-EXT-1, an ``All Mail`` folder flagged ``\\All``, and
    X-GM-MSGID derived from the Message-ID (Gmail's id is per message, across labels)."""

    def capabilities(self) -> tuple[bytes, ...]:
        return (*super().capabilities(), b"X-GM-EXT-1")

    def list_folders(self, directory: str = "", pattern: str = "*") -> list[Any]:
        return [
            ((*flags, b"\\All") if name == "All Mail" else flags, delim, name)
            for flags, delim, name in super().list_folders(directory, pattern)
        ]

    def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> Any:
        items = list(data)
        wants_gm = "X-GM-MSGID" in items
        if wants_gm:
            items.remove("X-GM-MSGID")
            items.append("BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
        response = super().fetch(messages, items, modifiers)
        if wants_gm:
            for d in response.values():
                header = d.pop(b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b"")
                d[b"X-GM-MSGID"] = int.from_bytes(hashlib.sha1(header.strip()).digest()[:8], "big")
        return response


def test_gmail_all_mail_is_read_last_and_never_twice(dovecot: DovecotServer, user: DovecotUser) -> None:
    user.create_folder("All Mail")
    received, mine, archived = mail("Received"), mail("Mine", sender="sam@example.net"), mail("Archived")
    user.append("INBOX", received)
    user.append("Sent", mine)
    user.append_many("All Mail", [received, mine, archived])
    with make_source(dovecot, user, folders=["All Mail", "INBOX", "Sent"], client_factory=GmailFlavouredClient) as src:
        assert src.is_gmail
        folders = src.folders()
        assert [f.name for f in folders] == ["INBOX", "Sent", "All Mail"]
        got = [(f.name, email.message_from_bytes(m.data)["Subject"]) for f in folders for m in read_all(src, f)]
    assert got == [("INBOX", "Received"), ("Sent", "Mine"), ("All Mail", "Archived")]


def test_imaplib_trace_is_off_unless_its_logger_listens(dovecot: DovecotServer, user: DovecotUser) -> None:
    """IMAPClient turns imaplib's trace on for every connection, and imaplib then formats a
    repr() of each fetched body before the logger drops it (30% of a backfill's time)."""
    user.append("INBOX", mail("Traced"))
    trace = logging.getLogger("imapclient.imaplib")
    old = trace.level
    trace.setLevel(logging.WARNING)  # as the CLI and the service leave it (other tests may have changed it)
    quiet = make_source(dovecot, user)
    try:
        quiet.connect()
        assert quiet._client is not None and quiet._client._imap.debug == 0
        assert [email.message_from_bytes(m.data)["Subject"] for m in read_all(quiet, inbox(quiet))] == ["Traced"]
    finally:
        quiet.close()
    trace.setLevel(logging.DEBUG)
    loud = make_source(dovecot, user)
    try:
        loud.connect()
        assert loud._client is not None and loud._client._imap.debug == 5  # asked for: kept
    finally:
        loud.close()
        trace.setLevel(old)
