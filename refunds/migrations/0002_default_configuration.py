"""Roles, the default RACI matrix, the real-world channels and the default policy."""

from django.db import migrations


def forwards(apps, schema_editor):
    from refunds.defaults import install_all

    install_all(apps.get_model)


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
