"""Secret links in e-mail (password reset, address verification), made when the message is
sent: the outbox holds a placeholder, so neither the database nor the admins' outbox view ever
holds a link that opens someone's account."""

from __future__ import annotations

import logging

from flask import current_app

from makerspace.accounts.invitations import invitation_token, latest_open_invitation
from makerspace.accounts.models import User
from makerspace.accounts.tokens import password_reset_token, verification_token
from makerspace.core.urls import absolute_url
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage
from makerspace.mail.services import LINK_PLACEHOLDER, mail_configured, recipient_context

log = logging.getLogger("makerspace.mail")

_ENDPOINTS = {
    "password_reset": ("accounts.reset_password", password_reset_token),
    "email_verification": ("accounts.verify_email", verification_token),
}


class LinkGone(Exception):
    """The person the link was for is gone, or has another address now."""


def make_link(message: OutboxMessage) -> str:
    """A fresh link of the message's kind for its recipient; raises LinkGone."""
    if message.link_kind == "staff_invitation":
        invitation = latest_open_invitation(message.to_email)
        if invitation is None:
            raise LinkGone()
        with recipient_context(message.locale):
            return absolute_url("accounts_invitations.accept",
                                token=invitation_token(invitation))
    user = db.session.get(User, message.user_id) if message.user_id is not None else None
    if user is None or user.email != message.to_email or message.link_kind not in _ENDPOINTS:
        raise LinkGone()
    endpoint, make_token = _ENDPOINTS[message.link_kind]
    with recipient_context(message.locale):
        return absolute_url(endpoint, token=make_token(user))


def with_link(body: str, link: str) -> str:
    return body.replace(LINK_PLACEHOLDER, link)


def log_link_in_development(message: OutboxMessage) -> None:
    """In development with no mail server the message never leaves the outbox, and the link
    in it is not stored: write a link to the console log instead, so a developer or a demo is
    not stuck. Never in production, and never when mail is sent."""
    if current_app.config.get("ENVIRONMENT") != "development" or mail_configured():
        return
    try:
        link = make_link(message)
    except LinkGone:
        return
    log.warning("No mail server (MAIL_SERVER): the %s link for %s is %s",
                message.link_kind, message.to_email, link, extra={"link_for_developer": True})
