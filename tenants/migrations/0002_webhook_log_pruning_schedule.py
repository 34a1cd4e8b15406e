"""Once created the webhook log pruning schedule; agency.schedules.sync() keeps every periodic
job now, from settings.PERIODIC_JOBS. Kept (doing nothing) for migration history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    # The schedule is now kept by agency.schedules.sync() from settings.PERIODIC_JOBS.
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
