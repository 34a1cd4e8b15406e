"""First responses kept for Idempotency-Key repeats are stored encrypted: one may carry a secret
shown once (a webhook endpoint's signing secret)."""

import json

from django.db import migrations, models


def encrypt_stored(apps, schema_editor):
    from agency import crypto

    IdempotentRequest = apps.get_model("api", "IdempotentRequest")
    for record in IdempotentRequest.objects.exclude(status_code=None).only("pk", "response"):
        IdempotentRequest.objects.filter(pk=record.pk).update(
            response_encrypted=crypto.encrypt(json.dumps(record.response)), response=None)


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='idempotentrequest',
            name='response_encrypted',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(encrypt_stored, migrations.RunPython.noop),
        # ``response`` stays for one release (rolling deploys); the next release drops it.
        migrations.AlterField(
            model_name='idempotentrequest',
            name='response',
            field=models.JSONField(editable=False, null=True),
        ),
    ]
