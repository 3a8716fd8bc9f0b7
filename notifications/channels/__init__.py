"""Delivery channels. Each takes a Delivery row (already rendered) and sends it or raises.

Partner webhooks are not a channel here: the API's outbound webhook machinery listens to the same
`ticket_transitioned` signal and signs and retries its own deliveries.
"""

from . import email, in_app, sms

SENDERS = {
    "email": email.send,
    "sms": sms.send,
    "in_app": in_app.send,
}


def sender_for(channel: str):
    return SENDERS[channel]
