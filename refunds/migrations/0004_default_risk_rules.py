"""The default risk rules (open dispute, destination ≠ payer, gateway anomaly, amount, velocity)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from refunds.risk import install_default_rules

    install_default_rules(apps.get_model)


class Migration(migrations.Migration):
    dependencies = [("refunds", "0003_risk_rules_checklists_policy_sop")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
