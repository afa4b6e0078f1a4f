"""Mail text cannot drive the terminal: `scan`, `signals`, `search`, `apps` and `app` print escape
sequences from mail bodies as nothing, through the one function the digest uses."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from cpu_time import best_cpu_seconds

from offerwatch.daemon.cli import cli
from offerwatch.daemon.textsafe import clean_text
from offerwatch.models.domain import Address, Analysis, Direction, Location, Signal
from offerwatch.models.linking import link_message
from offerwatch.models.store import Store

#: Set the window title, clear the screen, a hidden OSC 8 link, colours, the 8-bit CSI, a DCS,
#: an unterminated OSC, a bidi override.
HOSTILE = ("\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
           "\x1b[31;1mred\x1b[0m\x9b2J\x1bP1$r\x1b\\\u202eevil\x1b]2;never ends")
#: Anything a terminal would act on: C0 controls other than newline, ESC, C1 controls.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("text,expected", [
    ("Offer\x1b]0;pwned\x07 for you", "Offer for you"),
    ("\x1b[2J\x1b[Hclean", "clean"),
    ("a \x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\ b", "a link b"),
    ("\x9b31mred\x9b0m", "red"),
    ("x\x1b]2;never terminated", "x"),
    ("tab\tand\nnewline", "tab and newline"),
    ("plain text stays", "plain text stays"),
])
def test_clean_text_removes_whole_sequences(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_clean_text_is_linear_on_runs_of_escapes() -> None:
    def cost(n: int) -> float:
        return best_cpu_seconds(clean_text, ("\x1b]" * n) + ("\x1b[" * n) + ("\x9b" * n))

    assert cost(200_000) < cost(50_000) * 4 * 3 + 0.05


RAW = ("From: Dana Whitcombe <dana@lumenfield.io>\r\nTo: maya@example.com\r\nSubject: Your offer\r\n"
       "Date: Wed, 14 Oct 2026 15:00:00 +0000\r\nMessage-ID: <offer@lumenfield.io>\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
       f"Hi Maya,\r\n\r\nWe are pleased to offer you the position {HOSTILE}.\r\n\r\nBest,\r\nDana {HOSTILE}\r\n")


def _clean_output(output: str) -> None:
    assert not CONTROL.search(output), repr(CONTROL.search(output))
    for leftover in ("]0;pwned", "]8;;", "evil.example", "[2J", "never ends"):
        assert leftover not in output


def test_scan_prints_no_escape_sequence_from_the_body(tmp_path: Path) -> None:
    mail = tmp_path / "offer.eml"
    mail.write_bytes(RAW.encode("utf-8"))
    out = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "scan", str(mail), "--owner", "maya@example.com"],
                             env={"COLUMNS": "400"})
    assert out.exit_code == 0, out.output
    assert "pleased to offer you" in out.output
    _clean_output(out.output)


def _store_with_hostile_mail(db: Path) -> None:
    a = Analysis(
        message_id="<offer@lumenfield.io>", subject=f"Your offer {HOSTILE}", sender=Address(f"Dana {HOSTILE}", "dana@lumenfield.io"),
        to=(Address("", "maya@example.com"),), cc=(), date=datetime(2026, 10, 14, 15, tzinfo=timezone.utc), in_reply_to=None,
        references=(), direction=Direction.IN, is_job=True, job_reason="test",
        text=f"We are pleased to offer you the position {HOSTILE}.", signature="Dana",
        signals=(Signal("offer", f"We are pleased to offer you the position {HOSTILE}.", 0, 40, "offer.rule", f"label {HOSTILE}"),),
    )
    with Store.open(db) as s:
        s.write_batch("t", "INBOX", 1, [(Location("t", "INBOX", 1, 1, "1"), a)], last_uid=1, linker=link_message)
        s.db.execute("UPDATE applications SET company = ?", [f"Lumenfield {HOSTILE}"])


@pytest.mark.parametrize("command", [["signals"], ["search", "pleased"], ["apps"], ["app", "1"]])
def test_stored_mail_prints_no_escape_sequence(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "o.db"
    _store_with_hostile_mail(db)
    out = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "--db", str(db), *command])
    assert out.exit_code == 0, out.output
    assert "Lumenfield" in out.output
    _clean_output(out.output)
