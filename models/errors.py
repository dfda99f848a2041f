"""Explicit exception types of the domain core."""

from __future__ import annotations


class PulseError(Exception):
    """Base of every error Syndicate Pulse raises on purpose."""


class InvalidMessage(PulseError):
    """A message, on any topic a worker reads, that breaks its topic's contract.

    ``reason`` is a short machine-friendly code (it labels DLQ metrics);
    ``detail`` is the human sentence stored with the dead letter.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidTransaction(InvalidMessage):
    """A message on ``transactions`` that breaks the message contract."""
