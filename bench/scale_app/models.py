from django.db import models


class ScaleNote(models.Model):
    title = models.CharField(max_length=100)
    score = models.IntegerField(default=0, db_index=True)  # added by 0002
