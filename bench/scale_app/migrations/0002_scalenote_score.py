from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scale_app", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="scalenote",
            name="score",
            field=models.IntegerField(db_index=True, default=0),
        ),
    ]
