"""Brands provisioned before review links: append the "Client approval" task to their
"Campaign approval" workflow (after the sensitivity review)."""

from django.db import migrations
from django.db.models import Max


def add_client_approval(apps, schema_editor):
    from django.contrib.contenttypes.models import ContentType  # shared table, see 0003

    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    ClientApprovalTask = apps.get_model("approvals", "ClientApprovalTask")
    content_type, _ = ContentType.objects.get_or_create(app_label="approvals",
                                                        model="clientapprovaltask")
    for workflow in Workflow.objects.filter(name="Campaign approval"):
        links = WorkflowTask.objects.filter(workflow=workflow)
        if links.filter(task__content_type=content_type).exists():
            continue
        task = ClientApprovalTask.objects.create(name="Client approval", active=True,
                                                 content_type_id=content_type.pk)
        last = links.aggregate(last=Max("sort_order"))["last"]
        WorkflowTask.objects.create(workflow=workflow, task_id=task.pk,
                                    sort_order=0 if last is None else last + 1)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0004_client_approval")]

    operations = [migrations.RunPython(add_client_approval, migrations.RunPython.noop)]
