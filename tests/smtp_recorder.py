"""An aiosmtpd handler that keeps what it receives (the receiving side of SMTP tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SmtpRecorder:
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content or envelope.content)
        return "250 2.0.0 OK"
