"""Company domains come from the Public Suffix List (bundled, offline): ne.jp, gouv.fr and gc.ca employers stay apart."""

from __future__ import annotations

import socket

import pytest

from helpers_apps import msg, put
from offerwatch.models.linking import company_from_domain, is_company_domain, registrable_domain
from offerwatch.models.store import Store


@pytest.mark.parametrize("address,domain", [
    ("hr@mail.sakura-tech.ne.jp", "sakura-tech.ne.jp"),      # was "ne.jp": every Japanese ISP customer one company
    ("rh@travail.gouv.fr", "travail.gouv.fr"),               # was "gouv.fr": every French ministry one company
    ("jobs@hr.tbs-sct.gc.ca", "tbs-sct.gc.ca"),              # was "gc.ca": the whole Canadian government
    ("x@careers.acme.co.uk", "acme.co.uk"),
    ("x@talent.acme.com.au", "acme.com.au"),
    ("x@jobs.acme.com", "acme.com"),
    ("x@city.kawasaki.jp", "city.kawasaki.jp"),              # a PSL exception rule
    ("x@ACME.COM.", "acme.com"),
    ("Jo <x@a..acme.io>", "acme.io"),
    ("x@localhost", "localhost"),
    ("x@127.0.0.1", "127.0.0.1"),
    ("", ""),
])
def test_registrable_domain(address: str, domain: str) -> None:
    assert registrable_domain(address) == domain


def test_company_names_from_such_domains() -> None:
    assert company_from_domain("hr@mail.sakura-tech.ne.jp") == "Sakura Tech"
    assert company_from_domain("rh@travail.gouv.fr") == "Travail"
    assert not is_company_domain("x@gmail.com") and not is_company_domain("x@acme.greenhouse.io")


def test_no_network_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    from offerwatch.models import linking

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the suffix list must not be fetched")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    linking._suffix_list.cache_clear()
    linking._registrable.cache_clear()
    assert registrable_domain("a@b.example.org.uk") == "example.org.uk"


def test_two_ministries_are_two_applications_and_one_company_on_two_hosts_is_one() -> None:
    store = Store.open(None)
    try:
        ids = put(
            store,
            msg("g1", sender="Claire <claire@travail.gouv.fr>", subject="Votre candidature", text="Bonjour"),
            msg("g2", sender="Marc <marc@interieur.gouv.fr>", subject="Votre candidature", text="Bonjour"),
            msg("j1", sender="Taro <taro@mail.sakura-tech.ne.jp>", subject="Your application", text="Hello"),
            msg("j2", sender="Hana <hana@recruit.sakura-tech.ne.jp>", subject="Interview", text="Hello"),
        )
    finally:
        store.close()
    assert ids[0] != ids[1]
    assert ids[2] == ids[3] and ids[2] not in (ids[0], ids[1])
