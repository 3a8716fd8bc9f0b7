"""Shared field definitions."""

from django.db import models

from refunds.money import DECIMAL_PLACES, MAX_DIGITS


class MoneyField(models.DecimalField):
    """A Decimal amount; its currency lives in a sibling field and validation in refunds.money."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


def currency_field(**kwargs) -> models.CharField:
    return models.CharField(max_length=3, **kwargs)
