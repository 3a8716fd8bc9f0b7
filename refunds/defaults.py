"""Configuration every installation starts with, installed by a data migration (and re-installable
by tests that flush the database). Idempotent: existing rows are never overwritten.

`get_model` is `apps.get_model` in migrations and `django.apps.apps.get_model` elsewhere.
"""

from decimal import Decimal

from refunds.lifecycle import Role

# (code, name, window days, partial ok, max partial, min interval s, fee returned, settle min, max,
#  currencies, same currency only, tolerance minor units, fallback)
CHANNELS = [
    ("card", "Card (Visa / Mastercard / Amex)", 180, True, None, 0, False, 5, 10, [], False, 1, "store_credit"),
    ("alipay", "Alipay", 365, True, None, 0, True, 0, 0, ["CNY", "USD", "EUR", "HKD"], False, 1, "bank_transfer"),
    ("wechat_pay", "WeChat Pay", 365, True, 50, 60, True, 0, 3, ["CNY"], True, 1, "bank_transfer"),
    ("paypal", "PayPal", 180, True, None, 0, False, 0, 5, [], True, 1, "store_credit"),
    ("bank_transfer", "SEPA bank transfer", 365, True, None, 0, True, 2, 3, ["EUR"], True, 0, None),
    ("store_credit", "Store credit", 3650, True, None, 0, True, 0, 0, [], False, 0, None),
]

STRIPE_REASONS = {
    "duplicate": "duplicate", "fraudulent": "fraudulent", "requested_by_customer": "requested_by_customer",
}


def install_roles(get_model) -> None:
    Group = get_model("auth", "Group")
    for role in Role.values:
        Group.objects.get_or_create(name=role)


def install_raci(get_model) -> None:
    from refunds.raci import DEFAULT_MATRIX

    RaciEntry = get_model("refunds", "RaciEntry")
    if RaciEntry.objects.exists():
        return
    RaciEntry.objects.bulk_create(
        RaciEntry(stage=stage, role=role, responsibility=letter)
        for stage, letters in DEFAULT_MATRIX.items()
        for letter, roles in letters.items()
        for role in roles
    )


def install_channels(get_model) -> None:
    Channel = get_model("refunds", "Channel")
    created = {}
    for (code, name, window, partial, max_partial, interval, fee, smin, smax, currencies, same, tol,
         _fallback) in CHANNELS:
        channel, _ = Channel.objects.get_or_create(
            code=code,
            defaults=dict(
                name=name, refund_window_days=window, partial_refunds_allowed=partial,
                max_partial_refunds=max_partial, min_partial_interval_seconds=interval, fee_returned=fee,
                settlement_days_min=smin, settlement_days_max=smax, currencies=currencies,
                same_currency_only=same, reconciliation_tolerance_minor=tol,
                reason_code_map=STRIPE_REASONS if code == "card" else {},
            ),
        )
        created[code] = channel
    for code, *_rest, fallback in CHANNELS:
        channel = created[code]
        if fallback and channel.fallback_channel_id is None:
            channel.fallback_channel = created[fallback]
            channel.save(update_fields=["fallback_channel"])


def install_default_policy(get_model) -> None:
    Policy = get_model("refunds", "Policy")
    if not Policy.objects.filter(is_default=True).exists():
        Policy.objects.create(
            code="standard", name="Standard refund", scenario="full", is_default=True,
            approval_rules=[{"above": "1000", "roles": [Role.OPS_LEAD, Role.FINANCE]}],
            risk_threshold_amount=Decimal("5000"), appeal_window_days=30,
        )


def install_all(get_model) -> None:
    from refunds.reasons import install_card_reason_fallback
    from refunds.risk import install_default_rules

    install_roles(get_model)
    install_raci(get_model)
    install_channels(get_model)
    install_default_policy(get_model)
    install_default_rules(get_model)
    install_card_reason_fallback(get_model)


# Django model permissions per role for the admin site (ticket powers come from RACI, not from these).
_VIEW_ALL = [f"view_{model}" for model in (
    "refundticket", "payment", "dispute", "transitionlog", "approval", "hold", "payoutattempt", "channel", "policy",
    "raciEntry", "partner", "riskrule", "riskrulehit", "checklisttick", "businesscalendar", "holiday", "policysla",
    "slaclock", "slaevent", "customerfeedback", "statusvisit", "gatewayevent", "simulatedrefund",
    "notificationtemplate", "delivery", "optout", "apikey", "webhookendpoint", "webhookdelivery",
    "columnmapping", "statementimport", "matchrun", "reconexception",
)]
_CONFIGURE = ["add_channel", "change_channel", "add_policy", "change_policy", "change_raciEntry", "add_raciEntry",
              "delete_raciEntry", "add_partner", "change_partner", "add_dispute", "change_dispute",
              "add_riskrule", "change_riskrule", "add_businesscalendar", "change_businesscalendar", "add_holiday",
              "change_holiday", "delete_holiday", "add_policysla", "change_policysla", "delete_policysla",
              "add_notificationtemplate", "change_notificationtemplate", "add_apikey", "change_apikey",
              "view_user", "add_user", "change_user",
              "view_group"]
_TICK = ["add_checklisttick", "delete_checklisttick"]
ROLE_PERMISSIONS = {
    Role.AGENT: _VIEW_ALL,
    Role.REVIEWER: _VIEW_ALL + _TICK,
    Role.OPS_LEAD: _VIEW_ALL + _TICK + ["change_policy", "add_policy", "add_policysla", "change_policysla"],
    Role.FINANCE: _VIEW_ALL + _TICK + ["add_dispute", "change_dispute", "add_columnmapping", "change_columnmapping"],
    Role.FINANCE_LEAD: _VIEW_ALL + _TICK + ["add_dispute", "change_dispute", "add_columnmapping",
                                           "change_columnmapping"],
    Role.RISK: _VIEW_ALL + _TICK + ["change_riskrule"],
    Role.ADMIN: _VIEW_ALL + _CONFIGURE,
}


def install_role_permissions(get_model, extra: dict[str, list[str]] | None = None) -> None:
    """Give each role group its admin permissions (run after migrate, when permissions exist)."""
    Group = get_model("auth", "Group")
    Permission = get_model("auth", "Permission")
    wanted = {role: [p.lower() for p in perms] for role, perms in ROLE_PERMISSIONS.items()}
    for role, perms in (extra or {}).items():
        wanted.setdefault(role, []).extend(p.lower() for p in perms)
    for role, codenames in wanted.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(codename__in=codenames))
