"""SMS through a pluggable backend (setting NOTIFICATIONS_SMS_BACKEND, a dotted path to a class).

Defaults: the console backend (prints to stdout, like Django's console e-mail backend); the file
backend appends one JSON line per message to NOTIFICATIONS_SMS_FILE. A real provider is a class with
`send(to: str, text: str) -> None` that raises on failure.
"""

import json
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "notifications.channels.sms.ConsoleSmsBackend"
_lock = threading.Lock()


class ConsoleSmsBackend:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, to: str, text: str) -> None:
        with _lock:
            self.stream.write(f"--- SMS to {to} ---\n{text}\n---\n")
            self.stream.flush()


class FileSmsBackend:
    def __init__(self, path: str | None = None):
        self.path = Path(path or getattr(settings, "NOTIFICATIONS_SMS_FILE", "sms-outbox.jsonl"))

    def send(self, to: str, text: str) -> None:
        line = json.dumps({"to": to, "text": text, "at": timezone.now().isoformat()}, ensure_ascii=False)
        with _lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class LocmemSmsBackend:
    """For tests: messages collect in `LocmemSmsBackend.outbox`."""

    outbox: list[dict] = []

    def send(self, to: str, text: str) -> None:
        LocmemSmsBackend.outbox.append({"to": to, "text": text})


def get_backend():
    return import_string(getattr(settings, "NOTIFICATIONS_SMS_BACKEND", DEFAULT_BACKEND))()


def send(delivery) -> None:
    get_backend().send(delivery.recipient, delivery.body)
