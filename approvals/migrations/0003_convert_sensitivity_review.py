"""Brands provisioned before the sensitivity review task had a plain GroupApprovalTask named
"Sensitivity review" in their workflow: turn it into a SensitivityReviewTask in place (same task
id, so workflows and their history keep pointing at it)."""

from django.db import migrations


def convert(apps, schema_editor):
    # The real ContentType: contenttypes is a shared (public) app, so tenant migrations do not
    # carry its historical state.
    from django.contrib.contenttypes.models import ContentType

    Task = apps.get_model("wagtailcore", "Task")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")
    SensitivityReviewTask = apps.get_model("approvals", "SensitivityReviewTask")
    olds = list(GroupApprovalTask.objects.filter(name="Sensitivity review"))
    if not olds:
        return
    content_type, _ = ContentType.objects.get_or_create(app_label="approvals",
                                                        model="sensitivityreviewtask")
    for old in olds:
        groups = list(old.groups.all())
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("INSERT INTO approvals_sensitivityreviewtask (task_ptr_id) VALUES (%s)",
                           [old.pk])
            cursor.execute("DELETE FROM wagtailcore_groupapprovaltask_groups "
                           "WHERE groupapprovaltask_id = %s", [old.pk])
            cursor.execute("DELETE FROM wagtailcore_groupapprovaltask WHERE task_ptr_id = %s",
                           [old.pk])
        SensitivityReviewTask.objects.get(pk=old.pk).groups.set(groups)
        Task.objects.filter(pk=old.pk).update(content_type=content_type)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_sensitivity_review")]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
