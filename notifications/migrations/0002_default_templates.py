from django.db import migrations


def install(apps, schema_editor):
    from notifications.defaults import install_default_templates

    install_default_templates(apps.get_model)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_notifications_delivery_log")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
