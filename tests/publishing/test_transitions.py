"""A delivery's state changes only through ``campaigns.publishing.transitions``: each change is
refused where today's rules refuse it, recorded, and announced; and no other module writes it."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.publishing import transitions
from campaigns.publishing.models import Delivery, EventKind, State
from campaigns.publishing.transitions import Outcome
from tests.publishing.conftest import approve, make_campaign

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("agency", "tenants", "campaigns", "approvals")
HOME = ROOT / "campaigns" / "publishing" / "transitions.py"


def _delivery(kit) -> Delivery:
    page = make_campaign(kit.schema, posts=[("Spring is here", [kit.sandbox], kit.soon,
                                                None)])
    (delivery,) = approve(kit.schema, page)
    return delivery


def _published(kit) -> Delivery:
    """Taken by the dispatcher and recorded published by the worker's transitions."""
    delivery = _delivery(kit)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    ((pk, claim),) = transitions.claim_due()
    assert transitions.start(delivery, claim, "test:1")
    assert transitions.succeed(delivery, claim, "r1", "https://example.social/@acme/1") \
        == Outcome.PUBLISHED
    delivery.refresh_from_db()
    return delivery


@pytest.mark.django_db
def test_staff_cannot_retry_cancel_move_or_resolve_a_published_post(world, kit):
    delivery = _published(kit)
    assert delivery.state == State.PUBLISHED
    events = delivery.events.count()
    later = timezone.now() + dt.timedelta(days=2)
    with schema_context(kit.schema):
        with pytest.raises(ValidationError, match="only a failed or unconfirmed post can be "
                                                  "retried"):
            transitions.retry(delivery.pk)
        with pytest.raises(ValidationError, match="only a scheduled or failed post can be "
                                                  "cancelled"):
            transitions.cancel(delivery.pk)
        with pytest.raises(ValidationError, match="only a scheduled or failed post can be moved"):
            transitions.reschedule(delivery.pk, later)
        with pytest.raises(ValidationError, match="outcome is unknown"):
            transitions.confirm(delivery.pk, "https://example.social/@acme/2")
        with pytest.raises(ValidationError, match="outcome is unknown"):
            transitions.mark_not_sent(delivery.pk)
        with pytest.raises(ValidationError, match="Only failed or unconfirmed"):
            transitions.replay(state=State.PUBLISHED)
    delivery.refresh_from_db()
    assert delivery.state == State.PUBLISHED and delivery.remote_url.endswith("/1")
    assert delivery.events.count() == events  # nothing refused was recorded


@pytest.mark.django_db
def test_a_worker_step_under_a_claim_that_no_longer_holds_changes_nothing(world, kit):
    delivery = _delivery(kit)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    ((_, claim),) = transitions.claim_due()
    delivery.refresh_from_db()
    with schema_context(kit.schema):
        transitions.cancel_page(delivery.page_id, "The campaign was unpublished.")
    delivery.refresh_from_db()
    # claimed before the campaign was unpublished: withdrawn, still claimed
    assert delivery.state == State.CLAIMED and delivery.withdrawn
    assert not transitions.start(delivery, claim, "test:1")  # never sent once withdrawn
    wrong = "00000000-0000-0000-0000-000000000000"
    assert transitions.succeed(delivery, wrong, "r1", "") == Outcome.STALE
    assert transitions.fail(delivery, wrong, "HTTP 500") == Outcome.STALE
    assert transitions.still_unknown(delivery, claim, "?") == Outcome.STALE  # not unconfirmed
    assert transitions.cancel_withdrawn(delivery, claim) == Outcome.CANCELLED
    assert transitions.cancel_withdrawn(delivery, claim) == Outcome.STALE  # once only
    delivery.refresh_from_db()
    assert delivery.state == State.CANCELLED and delivery.claim is None
    assert transitions.succeed(delivery, claim, "r1", "") == Outcome.STALE
    assert list(delivery.events.values_list("kind", flat=True)) == [
        EventKind.CREATED, EventKind.WITHDRAWN, EventKind.CANCELLED]


@pytest.mark.django_db
def test_posts_recorded_together_change_only_where_their_claim_still_holds(
        world, kit, django_capture_on_commit_callbacks):
    from campaigns.publishing.alerts import delivery_published_signal

    heard = []

    def receiver(sender, delivery, **kwargs):
        heard.append(delivery.pk)

    first, second, third = _delivery(kit), _delivery(kit), _delivery(kit)
    ids = [first.pk, second.pk, third.pk]
    Delivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    claims = dict(transitions.claim_due())
    with schema_context(kit.schema):
        transitions.cancel_page(third.page_id, "Unpublished.")  # withdrawn, still claimed
    wrong = "00000000-0000-0000-0000-000000000000"
    delivery_published_signal.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = transitions.succeed_many([
                (first.pk, claims[first.pk], "r1", "https://example.social/@acme/1"),
                (second.pk, wrong, "r2", "https://example.social/@acme/2"),
                (third.pk, claims[third.pk], "r3", "")])
    finally:
        delivery_published_signal.disconnect(receiver)
    assert outcomes == {first.pk: Outcome.PUBLISHED, second.pk: Outcome.STALE,
                        third.pk: Outcome.PUBLISHED}  # out is out, withdrawn or not
    rows = {d.pk: d for d in Delivery.objects.filter(pk__in=ids)}
    assert rows[first.pk].state == State.PUBLISHED and rows[first.pk].remote_id == "r1"
    assert rows[first.pk].remote_url.endswith("/1") and rows[first.pk].published_at
    assert rows[second.pk].state == State.CLAIMED and rows[second.pk].remote_id == ""
    assert rows[third.pk].remote_url == "" and rows[third.pk].remote_id == "r3"
    assert list(rows[first.pk].events.values_list("kind", "detail"))[-1] == (
        EventKind.PUBLISHED, "https://example.social/@acme/1")
    assert list(rows[third.pk].events.values_list("kind", "detail"))[-1] == (
        EventKind.PUBLISHED, "r3")
    assert not rows[second.pk].events.filter(kind=EventKind.PUBLISHED).exists()
    assert sorted(heard) == sorted([first.pk, third.pk])  # the webhooks hear of each once


@pytest.mark.django_db
def test_the_webhooks_hear_of_each_post_of_a_batch_read_in_one_query(world, kit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.publishing import alerts

    heard = []

    def receiver(sender, delivery, **kwargs):
        heard.append(delivery.pk)
        if len(heard) == 1:
            raise RuntimeError("a receiver that fails")

    deliveries = [_delivery(kit) for _ in range(3)]
    alerts.delivery_published_signal.connect(receiver)
    try:
        with CaptureQueriesContext(connection) as queries:
            alerts.deliveries_published([d.pk for d in deliveries])
    finally:
        alerts.delivery_published_signal.disconnect(receiver)
    assert heard == sorted(d.pk for d in deliveries)  # the failing one did not stop the rest
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith('SELECT "publishing_delivery"')]
    assert len(reads) == 1


@pytest.mark.django_db
def test_staff_retry_and_an_operators_replay_are_the_same_transition(world, kit):
    first, second = _delivery(kit), _delivery(kit)
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(
        state=State.FAILED, attempts=3, error="HTTP 500")
    with schema_context(kit.schema):
        transitions.retry(first.pk, user=world.acme.users["account_manager"])
    assert transitions.replay(client=world.acme.client) == 1  # only the one still failed
    for delivery in (first, second):
        delivery.refresh_from_db()
        assert delivery.state == State.SCHEDULED and delivery.attempts == 0
        assert delivery.next_attempt_at <= timezone.now()
        assert delivery.events.last().kind == EventKind.RETRY
    with schema_context(kit.schema):
        with pytest.raises(ValidationError, match="is scheduled; only a failed"):
            transitions.retry(first.pk)


@pytest.mark.django_db
def test_each_change_is_announced_once_committed_and_a_refusal_is_not(
        world, kit, django_capture_on_commit_callbacks):
    heard = []

    def receiver(sender, delivery_id, kind, actor, **kwargs):
        heard.append((delivery_id, kind, actor))

    transitions.delivery_changed.connect(receiver)
    try:
        delivery = _delivery(kit)
        manager = world.acme.users["account_manager"]
        with schema_context(kit.schema), django_capture_on_commit_callbacks(execute=True):
            transitions.cancel(delivery.pk, user=manager)
            with pytest.raises(ValidationError):
                transitions.cancel(delivery.pk, user=manager)
    finally:
        transitions.delivery_changed.disconnect(receiver)
    assert heard == [(delivery.pk, EventKind.CANCELLED, manager)]


# --- nothing else writes a delivery's state ---------------------------------------------------

# Other models with a field called state, written by their own services.
OTHER_MODELS = {"WebhookDelivery"}
# Instances of other models with a state of their own, by the names the code gives them: the
# inbox's items and replies (campaigns/conversations).
OTHER_INSTANCES = {"item", "reply"}
SQL_WRITE = re.compile(r"\bSET\s+state\b|\bUPDATE\s+(\w+\.)?publishing_delivery\b", re.I)


def _root(node: ast.AST) -> str:
    """The name a chain of attributes and calls starts from (``Delivery`` in
    ``Delivery.objects.filter(...).update``)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _dicts(tree: ast.AST) -> set[str]:
    """Local names bound to a dict in a function: their ``.update(state=...)`` is a dict's."""
    found = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)
                        and (isinstance(node.value, ast.Dict)
                             or (isinstance(node.value, ast.Call)
                                 and _root(node.value.func) == "dict"))):
                    found.add(node.targets[0].id)
    return found


def _names_state(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and n.value == "state" for n in ast.walk(node))


def offenders(source: str, name: str = "<source>") -> list[str]:
    """Every place in ``source`` that writes a delivery's state."""
    tree = ast.parse(source)
    dicts = _dicts(tree)
    found = []

    def hit(node, what):
        found.append(f"{name}:{node.lineno}: {what}")

    classes = {}
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            for node in ast.walk(cls):
                classes.setdefault(id(node), cls.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for item in ast.walk(target):
                    if isinstance(item, ast.Attribute) and item.attr == "state":
                        own = (isinstance(item.value, ast.Name) and item.value.id == "self"
                               and classes.get(id(item), "Delivery") != "Delivery") or (
                            isinstance(item.value, ast.Name)
                            and item.value.id in OTHER_INSTANCES)
                        if not own:  # another class's own state (a migration executor's)
                            hit(node, ".state =")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, root = node.func.attr, _root(node.func.value)
            if root in OTHER_MODELS or (method == "save" and root in OTHER_INSTANCES):
                continue
            keywords = {k.arg for k in node.keywords}
            if method in ("update", "create", "get_or_create", "update_or_create",
                          "bulk_create") and "state" in keywords and root not in dicts:
                hit(node, f"{method}(state=...)")
            elif method == "update" and None in keywords and root == "Delivery":
                hit(node, "update(**...) of deliveries")
            elif method == "save" and any(k.arg == "update_fields" and _names_state(k.value)
                                          for k in node.keywords):
                hit(node, "save(update_fields=[..., 'state'])")
            elif method == "bulk_update" and any(_names_state(a) for a in node.args[1:]):
                hit(node, "bulk_update(..., ['state'])")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "Delivery" and any(k.arg == "state" for k in node.keywords):
                hit(node, "Delivery(state=...)")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and SQL_WRITE.search(node.value)):
            hit(node, "SQL writing a delivery's state")
    return found


def _project_sources():
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts or path == HOME:
                continue
            yield path


def test_the_scan_sees_every_way_of_writing_a_state():
    bad = """
def a(delivery, held):
    delivery.state = State.FAILED
    delivery.state, delivery.error = State.FAILED, "x"
    Delivery.objects.filter(pk=1).update(state="cancelled")
    held.update(state=State.SCHEDULED)
    delivery.save(update_fields=["state", "updated_at"])
    Delivery.objects.bulk_update([delivery], ["state"])
    Delivery(state=State.FAILED).save()
    cursor.execute("UPDATE public.publishing_delivery SET error = ''")
    cursor.execute('''UPDATE x d SET state = 'claimed' ''')
"""
    assert len(offenders(bad)) == 9, offenders(bad)
    fine = """
class Loader:
    def __init__(self):
        self.state = None
def b(delivery, state):
    fields = {"error": ""}
    fields.update(state=state)
    WebhookDelivery.objects.filter(pk=1).update(state=state)
    item.state = ItemState.ASSIGNED
    item.save(update_fields=["assignee", "state"])
    reply.state, reply.error = ReplyState.SENT, ""
    Delivery.objects.filter(state=State.SCHEDULED).count()
    if delivery.state == State.FAILED:
        pass
"""
    assert offenders(fine) == []
    assert len(offenders(HOME.read_text(), "transitions.py")) >= 10  # the one home does


def test_nothing_but_transitions_writes_a_deliverys_state():
    found = [hit for path in _project_sources()
             for hit in offenders(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], ("Change a delivery's state through campaigns/publishing/"
                         "transitions.py, not here:\n" + "\n".join(found))
