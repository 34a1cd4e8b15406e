from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scale_app", "0001_initial"), migrations.swappable_dependency(
        settings.AUTH_USER_MODEL)]

    operations = [
        migrations.AddField(
            model_name="scalenote",
            name="score",
            field=models.IntegerField(db_index=True, default=0),
        ),
        # A key to a public table: the template keeps it, each brand's rollout drops it again.
        migrations.AddField(
            model_name="scalenote",
            name="author",
            field=models.ForeignKey(null=True, on_delete=models.SET_NULL, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
    ]
