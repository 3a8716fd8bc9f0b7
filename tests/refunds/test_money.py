from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from refunds.money import currency_exponent, parse_amount, to_minor_units, validate_amount, validate_currency


@pytest.mark.parametrize("amount,currency", [("10.5", "JPY"), ("1.005", "USD"), ("0.0001", "KWD"), ("1.1", "KRW")])
def test_amounts_beyond_the_currency_exponent_are_refused(amount, currency):
    with pytest.raises(ValidationError) as excinfo:
        validate_amount(Decimal(amount), currency)
    assert excinfo.value.code == "too_many_decimals"


@pytest.mark.parametrize("amount,currency", [("10", "JPY"), ("1.00", "USD"), ("1.005", "KWD"), ("12.5", "EUR")])
def test_amounts_within_the_exponent_are_accepted(amount, currency):
    validate_amount(Decimal(amount), currency)


def test_exponents_follow_iso_4217():
    assert (currency_exponent("JPY"), currency_exponent("USD"), currency_exponent("KWD")) == (0, 2, 3)


@pytest.mark.parametrize("value", ["0", "-1.00", "0.00"])
def test_zero_and_negative_amounts_are_refused(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_amount(Decimal(value), "USD")
    assert excinfo.value.code == "not_positive"


@pytest.mark.parametrize("value", ["abc", "", "NaN", "Infinity", 1.5])
def test_unparseable_or_float_amounts_are_refused(value):
    with pytest.raises(ValidationError):
        parse_amount(value)


def test_huge_amounts_are_refused_not_overflowed():
    with pytest.raises(ValidationError) as excinfo:
        validate_amount(Decimal("1e30"), "USD")
    assert excinfo.value.code == "too_large"


def test_unknown_currency_is_refused():
    with pytest.raises(ValidationError):
        validate_currency("XYZ")


def test_minor_units_are_integers():
    assert to_minor_units(Decimal("12.34"), "USD") == 1234
    assert to_minor_units(Decimal("1.234"), "KWD") == 1234
    assert to_minor_units(Decimal("1234"), "JPY") == 1234
