"""The django-q2 schedule for review reminders and backup approvers (public schema only: the
queue is shared by every brand, and the task visits each brand itself)."""

from django.db import migrations


def schedule(apps, schema_editor):
    if getattr(schema_editor.connection, "schema_name", "public") != "public":
        return
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="approval reminders",
        defaults={"func": "approvals.tasks.review_reminders", "schedule_type": "I",
                  "minutes": 15, "repeats": -1})


def unschedule(apps, schema_editor):
    if getattr(schema_editor.connection, "schema_name", "public") != "public":
        return
    apps.get_model("django_q", "Schedule").objects.filter(name="approval reminders").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0005_add_client_approval"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
