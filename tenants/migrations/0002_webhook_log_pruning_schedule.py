"""The daily django-q2 schedule that trims every brand's webhook log. It lives here, in the
public schema's app, because the webhooks app has tables only in brands' schemas: the queue is
shared by every brand, and the task visits each brand itself."""

from django.db import migrations

NAME = "webhook log pruning"


def schedule(apps, schema_editor):
    if getattr(schema_editor.connection, "schema_name", "public") != "public":
        return
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": "agency.webhooks.tasks.webhook_logs_prune",
                             "schedule_type": "D", "repeats": -1})


def unschedule(apps, schema_editor):
    if getattr(schema_editor.connection, "schema_name", "public") != "public":
        return
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
