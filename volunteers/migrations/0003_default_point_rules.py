from decimal import Decimal

from django.db import migrations

# The district's starting rules; district administrators change them in the admin.
DEFAULTS = {
    "post": (Decimal("2"), Decimal("1")),
    "area": (Decimal("2"), Decimal("1")),
    "activity": (Decimal("1"), Decimal("2")),
}


def add_rules(apps, schema_editor):
    PointRule = apps.get_model("volunteers", "PointRule")
    for kind, (per_shift, per_hour) in DEFAULTS.items():
        PointRule.objects.get_or_create(
            kind=kind, defaults={"per_shift": per_shift, "per_hour": per_hour}
        )


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0002_checkins_ledgers")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
