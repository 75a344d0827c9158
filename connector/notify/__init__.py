"""E-mail: an outbox on the `emails` table, rendered from templates, sent over SMTP with retries."""
from connector.notify.mailer import Mailer, MailError, mailer_from_settings
from connector.notify.outbox import (
    MAX_ATTEMPTS,
    queue_email,
    render,
    retry_step,
    send_after_commit,
    send_claimed,
    send_email,
    send_task,
)

__all__ = [
    "MAX_ATTEMPTS", "Mailer", "MailError", "mailer_from_settings", "queue_email", "render",
    "retry_step", "send_after_commit", "send_claimed", "send_email", "send_task",
]
