from django.conf import settings
from django.db import models


class ScaleNote(models.Model):
    title = models.CharField(max_length=100)
    score = models.IntegerField(default=0, db_index=True)  # added by 0002
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")  # added by 0002: a key to public
