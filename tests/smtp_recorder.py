"""An aiosmtpd handler that keeps what it receives (the receiving side of SMTP tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def digest_smtp_toml(port: int, to: str) -> str:
    """The ``[digest.smtp]`` table of offerwatch's config for an SMTP recorder on loopback."""
    return (f'[digest.smtp]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\nallow_insecure = true\n'
            f'to = "{to}"\n')


@dataclass
class SmtpRecorder:
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content or envelope.content)
        return "250 2.0.0 OK"
