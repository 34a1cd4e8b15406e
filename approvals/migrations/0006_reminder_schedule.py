"""Once created the review reminders' django-q2 schedule; agency.schedules.sync() keeps every
periodic job now, from settings.PERIODIC_JOBS. Kept (doing nothing) for migration history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0005_add_client_approval"),
        ("django_q", "0018_task_success_index"),
    ]

    # The schedule is now kept by agency.schedules.sync() from settings.PERIODIC_JOBS.
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
