"""Intake (SPEC §5): one test per validation rule (field key + message), all errors at once,
duplicates, the balance, missing customer data and the awaiting-customer loop."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from refunds.actors import Actor
from refunds.errors import InvalidInput
from refunds.info_requests import info_request_message, what_we_need
from refunds.lifecycle import State
from refunds.models import Policy, RefundTicket
from refunds.services import create_ticket, perform_transition
from refunds.services.tickets import DuplicateRefund
from tests.factories import DisputeFactory, PaymentFactory, TicketFactory, channel

pytestmark = pytest.mark.django_db

VALID_IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.fixture(autouse=True)
def _defaults(defaults):
    pass


def create(payment, **overrides):
    kwargs = dict(
        payment=payment,
        amount="10.00",
        currency=payment.currency if payment else "USD",
        reason="damaged",
        actor=Actor.system(),
    )
    kwargs.update(overrides)
    return create_ticket(**kwargs)


def errors_of(payment, **overrides) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as excinfo:
        create(payment, **overrides)
    return excinfo.value.errors


def only(errors: dict, key: str) -> str:
    assert list(errors) == [key], errors
    return " ".join(errors[key])


# --- One test per rule ------------------------------------------------------------------------------


def test_unknown_payment():
    assert "No payment with this reference" in only(errors_of(None, currency="USD"), "payment_ref")


def test_channel_must_match_the_payment():
    message = only(errors_of(PaymentFactory(), channel="paypal"), "channel")
    assert "made with card, not paypal" in message


def test_currency_must_be_iso_4217():
    assert "is not an ISO 4217 currency code" in only(errors_of(PaymentFactory(), currency="XYZ"), "currency")


def test_amount_must_be_a_decimal():
    assert "Enter a decimal amount" in only(errors_of(PaymentFactory(), amount="ten"), "amount")


def test_amount_must_not_be_a_float():
    assert "not floating-point" in only(errors_of(PaymentFactory(), amount=10.5), "amount")


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_amount_must_be_positive(amount):
    assert "greater than zero" in only(errors_of(PaymentFactory(), amount=amount), "amount")


@pytest.mark.parametrize(
    "currency,amount,places", [("USD", "1.005", 2), ("JPY", "10.5", 0), ("KWD", "1.0005", 3)]
)
def test_amount_within_the_currency_exponent(currency, amount, places):
    payment = PaymentFactory(currency=currency, amount="1000")
    message = only(errors_of(payment, amount=amount, currency=currency), "amount")
    assert f"{currency} allows {places} decimal places" in message


def test_amount_not_above_refundable_balance():
    payment = PaymentFactory(amount="200.00")
    assert "Only 200.00 USD can still be refunded" in only(errors_of(payment, amount="200.01"), "amount")


def test_second_refund_that_would_exceed_the_balance_is_refused():
    payment = PaymentFactory(amount="200.00")
    first = create(payment, amount="150.00")
    assert first.state == State.IN_REVIEW
    message = only(errors_of(payment, amount="60.00", reason="not_received"), "amount")
    assert "Only 50.00 USD can still be refunded" in message
    create(payment, amount="50.00", reason="not_received")  # exactly the rest is fine


def test_open_dispute_reduces_the_refundable_balance():
    payment = PaymentFactory(amount="200.00")
    DisputeFactory(payment=payment, amount=Decimal("120.00"))
    assert "Only 80.00 USD" in only(errors_of(payment, amount="100.00"), "amount")


def test_currency_must_equal_the_payments_unless_cross_currency():
    payment = PaymentFactory(currency="USD")
    assert "made in USD; refund in the same currency" in only(errors_of(payment, currency="EUR"), "currency")


def test_cross_currency_policy_needs_and_records_the_fx_rate():
    Policy.objects.create(code="xcur", name="Cross-currency", scenario="cross_currency", currency="EUR")
    payment = PaymentFactory(currency="USD", amount="200.00")
    assert "needs the FX rate" in only(errors_of(payment, currency="EUR", amount="100.00"), "fx_rate")
    assert "positive FX rate" in only(
        errors_of(payment, currency="EUR", amount="100.00", fx_rate="-1"), "fx_rate"
    )
    ticket = create(payment, currency="EUR", amount="100.00", fx_rate="0.91235")
    assert (ticket.currency, ticket.amount) == ("USD", Decimal("100.00"))
    assert (ticket.refund_currency, ticket.fx_rate, ticket.refund_amount) == (
        "EUR",
        Decimal("0.91235"),
        Decimal("91.24"),
    )
    assert ticket.policy.code == "xcur"


def test_cross_currency_refused_on_same_currency_only_channel():
    Policy.objects.create(code="xcur", name="Cross-currency", scenario="cross_currency", currency="EUR")
    payment = PaymentFactory(currency="USD", channel=channel("paypal"))
    assert "refund in the same currency" in only(
        errors_of(payment, currency="EUR", fx_rate="0.9"), "currency"
    )


def test_cross_currency_only_into_the_channels_currencies():
    Policy.objects.create(code="xcur", name="Cross-currency", scenario="cross_currency", currency="GBP")
    payment = PaymentFactory(currency="CNY", channel=channel("alipay"), amount="500.00")
    message = only(errors_of(payment, currency="GBP", fx_rate="0.11"), "currency")
    assert "alipay refunds only in CNY, USD, EUR, HKD" in message


def test_inside_the_channels_refund_window():
    payment = PaymentFactory(channel=channel("paypal"), captured_at=timezone.now() - timedelta(days=181))
    assert "paypal refund window of 180 days" in only(errors_of(payment), "payment_ref")


def test_partial_refund_not_allowed_on_channel():
    card = channel("card")
    card.partial_refunds_allowed = False
    card.save()
    payment = PaymentFactory(amount="200.00")
    assert "card does not allow partial refunds" in only(errors_of(payment, amount="10.00"), "amount")
    assert create(payment, amount="200.00").amount == Decimal("200.00")


def test_partial_refund_count_limit():
    wechat = channel("wechat_pay")
    wechat.max_partial_refunds = 2
    wechat.min_partial_interval_seconds = 0
    wechat.save()
    payment = PaymentFactory(channel=wechat, currency="CNY", amount="500.00")
    TicketFactory(payment=payment, amount="10.00", state=State.REFUNDED)
    TicketFactory(payment=payment, amount="11.00", state=State.IN_REVIEW)
    assert "at most 2 partial refunds" in only(errors_of(payment, amount="12.00"), "amount")


def test_partial_refund_minimum_interval():
    payment = PaymentFactory(channel=channel("wechat_pay"), currency="CNY", amount="500.00")
    TicketFactory(payment=payment, amount="10.00", state=State.IN_REVIEW)
    assert "needs 60 seconds between partial refunds" in only(errors_of(payment, amount="12.00"), "amount")


def test_reason_code_from_the_list():
    message = only(errors_of(PaymentFactory(), reason="changed_my_mind"), "reason")
    assert "Choose one of: requested_by_customer, damaged" in message


def test_customer_language():
    assert "“en” or “zh-hans”" in only(
        errors_of(PaymentFactory(), customer_language="fr"), "customer_language"
    )


def test_refund_destination_method():
    message = only(errors_of(PaymentFactory(), refund_to={"method": "cash"}), "refund_to.method")
    assert "Choose one of: original, bank_transfer" in message


def test_iban_checksum():
    refund_to = {"method": "bank_transfer", "iban": "DE89370400440532013001", "account_name": "Li Wei"}
    assert "IBAN is not valid" in only(errors_of(PaymentFactory(), refund_to=refund_to), "refund_to.iban")


def test_account_name_not_blank():
    refund_to = {"method": "bank_transfer", "iban": VALID_IBAN, "account_name": "  "}
    message = only(errors_of(PaymentFactory(), refund_to=refund_to), "refund_to.account_name")
    assert "account holder's name" in message


def test_email_well_formed():
    assert "valid e-mail" in only(errors_of(PaymentFactory(), customer_email="li@"), "customer_email")


def test_phone_well_formed():
    message = only(errors_of(PaymentFactory(), customer_phone="138 0013 8000"), "customer_phone")
    assert "international form" in message


def test_all_errors_are_returned_together():
    errors = errors_of(
        PaymentFactory(),
        amount="1.005",
        reason="nope",
        customer_email="x@",
        customer_phone="123",
        customer_language="fr",
        refund_to={"method": "bank_transfer", "iban": "XX00"},
        channel="alipay",
    )
    assert set(errors) == {
        "amount",
        "reason",
        "customer_email",
        "customer_phone",
        "customer_language",
        "refund_to.iban",
        "channel",
    }
    assert RefundTicket.objects.count() == 0


def test_valid_iban_is_normalised():
    ticket = create(
        PaymentFactory(),
        refund_to={"method": "bank_transfer", "iban": VALID_IBAN.lower(), "account_name": "Li Wei"},
    )
    assert ticket.refund_to["iban"] == "DE89370400440532013000"


# --- Duplicates -------------------------------------------------------------------------------------


def test_exact_duplicate_within_24h_is_linked_not_created_twice():
    payment = PaymentFactory()
    first = create(payment)
    with pytest.raises(DuplicateRefund) as excinfo:
        create(payment)
    assert excinfo.value.extra["existing_reference"] == first.reference
    assert excinfo.value.status == 409
    assert RefundTicket.objects.filter(payment=payment).count() == 1


def test_same_amount_with_another_reason_is_not_a_duplicate():
    payment = PaymentFactory()
    create(payment)
    create(payment, reason="not_received")
    assert RefundTicket.objects.filter(payment=payment).count() == 2


def test_duplicate_older_than_24h_or_cancelled_is_not_linked():
    payment = PaymentFactory()
    old = create(payment)
    RefundTicket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    second = create(payment)
    perform_transition(ticket=second, name="cancel", actor=Actor.system())
    create(payment)
    assert RefundTicket.objects.filter(payment=payment).count() == 3


# --- Missing customer data → awaiting_customer ----------------------------------------------------


def test_missing_bank_details_go_to_awaiting_customer_with_list_and_message():
    ticket = create(PaymentFactory(), refund_to={"method": "bank_transfer"}, customer_language="zh-hans")
    assert ticket.state == State.AWAITING_CUSTOMER
    assert ticket.info_requested == ["iban", "account_name"]
    entry = ticket.log.get(transition="intake")
    assert entry.data == {"needed": ["iban", "account_name"]} and entry.customer_visible
    assert "IBAN" in entry.comment and "账户持有人姓名" in entry.comment
    need = what_we_need(ticket)
    assert need["needed"] == ["iban", "account_name"] and need["message"].startswith("为了继续处理您的退款")
    english = what_we_need(ticket, "en")["message"]
    assert english.startswith("To continue with your refund we need: the IBAN")
    assert "account holder's name" in english


def test_policy_required_fields_are_requested():
    policy = Policy.objects.get(is_default=True)
    policy.required_fields = ["customer_phone"]
    policy.save()
    ticket = create(PaymentFactory())
    assert ticket.state == State.AWAITING_CUSTOMER and ticket.info_requested == ["customer_phone"]
    assert "phone number in international form" in what_we_need(ticket, "en")["message"]


def test_unknown_item_gets_a_readable_message_in_both_languages():
    assert info_request_message(["proof_of_delivery"], "en").endswith(
        "need: proof of delivery. Please add this on your refund status page."
    )
    assert "“proof of delivery”信息" in info_request_message(["proof_of_delivery"], "zh-hans")


def test_provide_info_validates_with_the_same_rules_and_resumes():
    ticket = create(PaymentFactory(), refund_to={"method": "bank_transfer"})
    customer = Actor.customer(ticket)
    with pytest.raises(InvalidInput) as excinfo:
        perform_transition(
            ticket=ticket, name="provide_info", actor=customer, data={"iban": "DE00370400440532013000"}
        )
    assert set(excinfo.value.errors) == {"iban", "account_name"}
    assert "IBAN is not valid" in excinfo.value.errors["iban"][0]
    assert "required" in excinfo.value.errors["account_name"][0]
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_CUSTOMER
    ticket = perform_transition(
        ticket=ticket,
        name="provide_info",
        actor=customer,
        data={"iban": VALID_IBAN, "account_name": "Li  Wei"},
    )
    assert ticket.state == State.IN_REVIEW and ticket.info_requested == []
    assert ticket.refund_to == {
        "method": "bank_transfer",
        "iban": "DE89370400440532013000",
        "account_name": "Li Wei",
    }


def test_request_info_by_staff_writes_the_message_in_the_customers_language(make_user):
    ticket = TicketFactory(state=State.IN_REVIEW, customer_language="zh-hans")
    ticket = perform_transition(
        ticket=ticket, name="request_info", actor=Actor.staff(make_user("reviewer")), needed=["photos"]
    )
    entry = ticket.log.get(transition="request_info")
    assert entry.comment == "为了继续处理您的退款，我们需要：商品照片。请在退款状态页面补充。"
    assert entry.data["needed"] == ["photos"]
    with pytest.raises(InvalidInput) as excinfo:
        perform_transition(ticket=ticket, name="provide_info", actor=Actor.customer(ticket), data={})
    assert list(excinfo.value.errors) == ["photos"]
    ticket = perform_transition(
        ticket=ticket,
        name="provide_info",
        actor=Actor.customer(ticket),
        data={"photos": "https://example.com/p.jpg"},
    )
    assert ticket.state == State.IN_REVIEW
    assert ticket.log.get(transition="provide_info").data == {
        "provided": {"photos": "https://example.com/p.jpg"}
    }
