"""The survey tests reuse the interventions' real servers (aiosmtpd, the SMS provider) and
their guard that nothing leaves the machine."""

from tests.interventions.conftest import loopback_only, mailbox, octx, sms

__all__ = ["loopback_only", "mailbox", "octx", "sms"]
