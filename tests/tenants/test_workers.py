"""Background tasks run on a real django-q2 cluster, inside the schema they were enqueued for."""

import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ, Task
from django_tenants.utils import schema_context

from tenants.tasks import enqueue_in_client
from tests.conftest import child_env, manage_processes, stderr_tail, wait_until

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster(world, django_db_blocker):
    with manage_processes("qcluster", env=child_env(Q_WORKERS="2")) as (proc,):
        yield proc


def test_a_task_runs_on_a_worker_inside_its_own_brand(world, cluster, django_db_blocker):
    from wagtail.models import Collection

    name = f"from-worker-{uuid.uuid4().hex[:8]}"
    since = timezone.now()
    with django_db_blocker.unblock():
        with schema_context(world.acme.client.schema_name), transaction.atomic():
            enqueue_in_client("tests.tenants.jobs.mark_collection", name)

        def done():
            with schema_context(world.acme.client.schema_name):
                return Collection.objects.filter(name=name).exists()

        assert wait_until(done, 30), ("the cluster did not run the task: "
                                      + stderr_tail(cluster, 2000))
        with schema_context(world.globex.client.schema_name):
            assert not Collection.objects.filter(name=name).exists()
        # The monitor process records the result a moment after the function has run.
        ours = Task.objects.filter(func="tenants.tasks.run_in_client", started__gte=since)
        assert wait_until(ours.exists, 30), "the cluster recorded no result"
        result = ours.latest("stopped")
        assert result.success
        assert result.result["schema"] == "brand_acme"
        assert result.result["pid"] != cluster.pid and result.group == "brand_acme"


def test_nothing_is_enqueued_when_the_transaction_rolls_back(world, django_db_blocker):
    with django_db_blocker.unblock():
        before = OrmQ.objects.count()
        with pytest.raises(RuntimeError):
            with schema_context(world.acme.client.schema_name), transaction.atomic():
                enqueue_in_client("tests.tenants.jobs.mark_collection", "never")
                raise RuntimeError("rolled back")
        assert OrmQ.objects.count() == before


def test_enqueueing_from_the_public_schema_is_refused(world, django_db_blocker):
    with django_db_blocker.unblock():
        with pytest.raises(ValueError, match="needs a client schema"):
            enqueue_in_client("tests.tenants.jobs.mark_collection", "nowhere")
