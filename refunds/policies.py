"""Choosing the SOP that governs a refund: the most specific active policy wins, the default always exists."""

from decimal import Decimal

from django.db.models import Q

from refunds.models import Channel, Policy


def select_policy(*, channel: Channel, region: str, currency: str, amount: Decimal) -> Policy:
    """Candidates match on every selector they set; specificity = number of selectors set.

    Ties are broken by the narrowest amount range, then by code, so the choice is deterministic.
    """
    candidates = Policy.objects.filter(active=True).filter(
        Q(channel__isnull=True) | Q(channel=channel),
        Q(region="") | Q(region=region),
        Q(currency="") | Q(currency=currency),
        Q(min_amount__isnull=True) | Q(min_amount__lte=amount),
        Q(max_amount__isnull=True) | Q(max_amount__gte=amount),
    )

    def rank(policy: Policy):
        specificity = sum(
            [policy.channel_id is not None, bool(policy.region), bool(policy.currency),
             policy.min_amount is not None or policy.max_amount is not None]
        )
        width = (policy.max_amount or Decimal("1e15")) - (policy.min_amount or Decimal(0))
        return (-specificity, policy.is_default, width, policy.code)

    ranked = sorted(candidates, key=rank)
    if ranked:
        return ranked[0]
    return Policy.objects.get(is_default=True)
