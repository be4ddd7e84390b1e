"""Sending one e-mail over SMTP."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any


def send_mail(config: dict[str, Any], *, to: str, payload: dict[str, Any], message_id: str) -> None:
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = payload["subject"]
    message["Message-ID"] = make_msgid(idstring=message_id, domain="odr.local")
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    for filename, data, media_type in payload.get("attachments", ()):
        maintype, subtype = media_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # After the parts: making a message multipart moves Content-* headers into the first part.
    message["Content-Language"] = payload.get("language", "en")
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        smtp.send_message(message)
