"""Coherent factories: a ticket's payment, channel, currency and policy always agree."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from refunds.models import Channel, Dispute, Partner, Payment, Policy, RefundTicket
from refunds.status_tokens import token_for, token_hash

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example.com")
    is_staff = True
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=role)[0])


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"partner-{n}")


def channel(code: str = "card") -> Channel:
    """The seeded channel (data migration) with that code."""
    return Channel.objects.get(code=code)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    payment_ref = factory.Sequence(lambda n: f"pay_{n:08d}")
    order_ref = factory.Sequence(lambda n: f"SO-{n:06d}")
    channel = factory.LazyFunction(lambda: channel("card"))
    amount = Decimal("200.00")
    currency = "USD"
    captured_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.com")
    customer_name = "Li Wei"
    region = "US"


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dispute

    payment = factory.SubFactory(PaymentFactory)
    reference = factory.Sequence(lambda n: f"dp_{n:06d}")
    amount = factory.LazyAttribute(lambda d: d.payment.amount)
    currency = factory.LazyAttribute(lambda d: d.payment.currency)
    opened_at = factory.LazyFunction(timezone.now)


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket row in a given state, created directly (bypassing services) for test set-up only.

    Use `refunds.services.create_ticket` when the test is about creation itself.
    """

    class Meta:
        model = RefundTicket

    payment = factory.SubFactory(PaymentFactory)
    partner = factory.LazyAttribute(lambda t: t.payment.partner)
    amount = Decimal("20.00")
    currency = factory.LazyAttribute(lambda t: t.payment.currency)
    reason = "damaged"
    customer_email = factory.LazyAttribute(lambda t: t.payment.customer_email)
    region = factory.LazyAttribute(lambda t: t.payment.region)
    channel = factory.LazyAttribute(lambda t: t.payment.channel)
    policy = factory.LazyFunction(lambda: Policy.objects.get(is_default=True))
    refund_to = factory.LazyFunction(lambda: {"method": "original"})

    @classmethod
    def _create(cls, model_class, *args, state="submitted", **kwargs):
        ticket = model_class(*args, **kwargs)
        ticket.status_token_hash = token_hash(token_for(ticket))
        # The state field is protected; tests may place a ticket in any state through the ORM's
        # constructor only (never by assignment), exactly like a row loaded from the database.
        ticket.__dict__["state"] = state
        ticket.save()
        return ticket
