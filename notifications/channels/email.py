"""E-mail through Django's configured backend (console in embedded mode, SMTP etc. in production)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives


def send(delivery) -> None:
    message = EmailMultiAlternatives(
        subject=delivery.subject, body=delivery.body, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
    )
    if delivery.body_html:
        message.attach_alternative(delivery.body_html, "text/html")
    message.send(fail_silently=False)
