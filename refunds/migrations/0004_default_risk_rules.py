"""The default risk rules (open dispute, destination ≠ payer, gateway anomaly, amount, velocity),
a history baseline for policies created before (so tickets can read their policy version), and
the card channel's fallback reason code."""

from django.db import migrations


def forwards(apps, schema_editor):
    from refunds.reasons import install_card_reason_fallback
    from refunds.risk import install_default_rules
    from refunds.sop import install_policy_history_baseline

    install_default_rules(apps.get_model)
    install_policy_history_baseline(apps.get_model)
    install_card_reason_fallback(apps.get_model)


class Migration(migrations.Migration):
    dependencies = [('refunds', '0003_risk_rules_checklists_policy_sop')]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
