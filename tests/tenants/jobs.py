"""Functions the worker tests run on a real django-q2 cluster."""

import os

from django.db import connection


def mark_collection(name: str) -> dict:
    """Write into whatever schema the worker put us in, and say where and who we were."""
    from wagtail.models import Collection

    Collection.get_first_root_node().add_child(name=name)
    return {"schema": connection.schema_name, "pid": os.getpid()}
