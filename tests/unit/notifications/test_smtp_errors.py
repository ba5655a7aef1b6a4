"""SMTP failures keep their reason but not the addresses SMTP servers quote in them."""
from __future__ import annotations

import smtplib

from services.notifications.delivery import PermanentFailure, TemporaryFailure, classify_smtp_error

ADDRESS = "zwaantje.q@example.org"


def test_a_refused_recipient_is_permanent_and_its_address_is_not_in_the_text():
    refused = smtplib.SMTPRecipientsRefused({ADDRESS: (550, f"5.1.1 <{ADDRESS}>: Recipient address rejected".encode())})
    failure = classify_smtp_error(refused)
    assert isinstance(failure, PermanentFailure)
    assert "550" in str(failure) and "Recipient address rejected" in str(failure)
    assert "zwaantje" not in str(failure)


def test_other_smtp_texts_lose_their_addresses_too():
    for exc in (smtplib.SMTPDataError(451, f"try later, {ADDRESS} over quota"),
                smtplib.SMTPSenderRefused(421, b"busy", ADDRESS), OSError(f"cannot send to {ADDRESS}")):
        failure = classify_smtp_error(exc)
        assert isinstance(failure, TemporaryFailure), exc
        assert "zwaantje" not in str(failure), str(failure)
    assert "over quota" in str(classify_smtp_error(smtplib.SMTPDataError(451, f"{ADDRESS} over quota")))
