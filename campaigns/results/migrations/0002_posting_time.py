from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("results", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="postresult",
            name="posted_weekday",
            field=models.PositiveSmallIntegerField(default=1, help_text="1 Monday .. 7 Sunday."),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="postresult",
            name="posted_hour",
            field=models.PositiveSmallIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="postresult",
            index=models.Index(fields=["posted_weekday", "posted_hour"], include=("interactions",),
                               name="result_posting_time"),
        ),
    ]
