"""Client approval by review link: issued when the sensitivity review passes, one per approver,
and safe to hold: hashed, bound to one brand, revision and approver, expiring, revocable, and
never changing anything on GET."""

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import PageLogEntry, TaskState

from approvals.models import ApprovalRecord, ApproverContact, ReviewLink
from approvals.workflows import content_hash
from campaigns.models import CampaignPage
from tenants.models import Role
from tests.conftest import HostClient
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    ImageFactory,
    PostFactory,
    pass_sensitivity_review,
    submit,
)

pytestmark = pytest.mark.django_db


@dataclass
class AtClient:
    page: object
    task_state: object  # the client approval task's
    tokens: dict  # approver's email -> the token of their review link
    image: object  # in the campaign's first post
    other: object  # an image of the brand in no post


@pytest.fixture
def at_client(world, django_capture_on_commit_callbacks) -> AtClient:
    """A campaign past its sensitivity review: the client approval task has issued links."""
    editor = world.acme.users[Role.EDITOR]
    reviewer = world.acme.users[Role.SENSITIVITY_REVIEWER]
    with schema_context(world.acme.client.schema_name):
        for name, email, backup in [("Jo Client", "jo@acme.example", False),
                                    ("Sam Client", "sam@acme.example", False),
                                    ("Bea Backup", "bea@acme.example", True)]:
            ApproverContact.objects.create(name=name, email=email, backup=backup)
        channel = ChannelFactory(name="Acme Sky", network="bluesky", handle="@acme")
        image = ImageFactory(title="Cup")
        other = ImageFactory(title="Other")
        due = timezone.now() + dt.timedelta(days=30)  # due in 28 days
        page = CampaignFactory(title="Winter roast", goal="Sell the winter roast", author=editor,
                               posts=[PostFactory(copy="Winter roast is here", channels=[channel],
                                                  publish_at=due, image=image,
                                                  alt_text="A cup of winter roast"),
                                      PostFactory(copy="Second post", channels=[channel])])
        submit(page, editor)
        with django_capture_on_commit_callbacks(execute=True):
            pass_sensitivity_review(page, reviewer)
        page = CampaignPage.objects.get(pk=page.pk)
        task_state = page.current_workflow_task_state
    connection.set_schema_to_public()
    tokens = {m.to[0]: re.search(r"/review/([\w-]+)/", m.body).group(1) for m in mail.outbox
              if m.subject.startswith("Please review")}
    return AtClient(page=page, task_state=task_state, tokens=tokens, image=image, other=other)


def _status(world, task_state):
    with schema_context(world.acme.client.schema_name):
        return TaskState.objects.get(pk=task_state.pk).status


def _anonymous(world):
    return HostClient(world.acme.host)


def test_passing_the_sensitivity_review_emails_each_main_approver_a_link(world, at_client):
    assert set(at_client.tokens) == {"jo@acme.example", "sam@acme.example"}  # no backup
    message = next(m for m in mail.outbox if m.to == ["jo@acme.example"])
    assert f"http://{world.acme.host}" in message.body and "Winter roast" in message.subject
    with schema_context(world.acme.client.schema_name):
        stored = list(ReviewLink.objects.values_list("token_hash", flat=True))
        assert len(stored) == 2
        for token in at_client.tokens.values():
            assert len(token) >= 43 and token not in str(list(ReviewLink.objects.values()))
        assert at_client.task_state.task.specific.__class__.__name__ == "ClientApprovalTask"


def test_the_review_page_shows_the_campaign_and_changes_nothing(world, at_client):
    token = at_client.tokens["jo@acme.example"]
    response = _anonymous(world).get(f"/review/{token}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "strict-origin"  # the token never leaves in a Referer
    assert "no-store" in response["Cache-Control"]
    assert "Sell the winter roast" in html and "Winter roast is here" in html
    assert "Please decide by" in html
    assert f'src="/review/{token}/images/{at_client.image.pk}/"' in html
    assert 'alt="A cup of winter roast"' in html
    assert _status(world, at_client.task_state) == "in_progress"
    with schema_context(world.acme.client.schema_name):
        link = ReviewLink.objects.get(approver__email="jo@acme.example")
        assert link.decided_at is None
        # A GET is what mail scanners do too: a fetch, not the approver opening it.
        assert link.first_fetched_at is not None and link.first_opened_at is None
        assert PageLogEntry.objects.filter(action="approvals.link_fetched").count() == 1
        assert not PageLogEntry.objects.filter(action="approvals.link_opened").exists()


def test_images_come_through_the_link_only_for_that_revision(world, at_client):
    token = at_client.tokens["jo@acme.example"]
    client = _anonymous(world)
    image = client.get(f"/review/{token}/images/{at_client.image.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert client.get(f"/review/{token}/images/{at_client.other.pk}/").status_code == 404
    assert client.get(f"/review/{'x' * 43}/images/{at_client.image.pk}/").status_code == 404


def test_images_come_from_the_bucket_when_media_is_on_object_storage(world, s3_media, at_client):
    """With S3 media the review page's images are read through the storage backend: a signed,
    short-lived URL of the bucket, for the link holder, never the brand's local disk."""
    import urllib.request

    from tests.conftest import BUCKET

    token = at_client.tokens["jo@acme.example"]
    client = _anonymous(world)
    assert client.get(f"/review/{token}/").status_code == 200
    image = client.get(f"/review/{token}/images/{at_client.image.pk}/")
    assert image.status_code == 302 and image["Cache-Control"] == "no-store, private"
    signed = image["Location"]
    assert f"/{BUCKET}/media/brand_acme/images/" in signed and "X-Amz-Signature=" in signed
    with urllib.request.urlopen(signed, timeout=10) as body:  # noqa: S310 - local moto server
        assert body.headers["Content-Type"] == "image/png"
        assert body.read().startswith(b"\x89PNG")
    assert client.get(f"/review/{token}/images/{at_client.other.pk}/").status_code == 404


def test_the_task_is_approved_when_every_main_approver_approves(world, at_client):
    jo, sam = (at_client.tokens[e] for e in ("jo@acme.example", "sam@acme.example"))
    first = _anonymous(world).post(f"/review/{jo}/", {"decision": "approved"})
    assert first.status_code == 200 and "once the other approvers" in first.content.decode()
    assert _status(world, at_client.task_state) == "in_progress"
    second = _anonymous(world).post(f"/review/{sam}/", {"decision": "approved",
                                                        "comment": "Lovely."})
    assert second.status_code == 200 and "You approved" in second.content.decode()
    assert _status(world, at_client.task_state) == "approved"
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=at_client.page.pk)
        record = ApprovalRecord.objects.get()
        assert page.live and record.revision_id == page.live_revision_id
        assert record.content_hash == content_hash(page.live_revision.content)
    again = _anonymous(world).get(f"/review/{jo}/")
    assert again.status_code == 200 and "You approved" in again.content.decode()


def test_a_change_request_sends_it_back_with_the_comments_and_closes_other_links(
        world, at_client):
    jo, sam = (at_client.tokens[e] for e in ("jo@acme.example", "sam@acme.example"))
    empty = _anonymous(world).post(f"/review/{jo}/", {"decision": "changes_requested"})
    assert empty.status_code == 400 and "Say what should change" in empty.content.decode()
    assert _status(world, at_client.task_state) == "in_progress"
    done = _anonymous(world).post(f"/review/{jo}/", {"decision": "changes_requested",
                                                     "post_2": "Add the price, please."})
    assert done.status_code == 200 and "You asked for changes" in done.content.decode()
    assert _status(world, at_client.task_state) == "rejected"
    with schema_context(world.acme.client.schema_name):
        comment = TaskState.objects.get(pk=at_client.task_state.pk).comment
        assert "Jo Client requested changes." in comment and "Post 2: Add the price" in comment
    closed = _anonymous(world).get(f"/review/{sam}/")
    assert closed.status_code == 410 and "This review is closed" in closed.content.decode()
    # the editors see it on their dashboard, and in the editor beside the post concerned
    editor = HostClient(world.acme.host)
    editor.force_login(world.acme.users[Role.EDITOR])
    assert "Add the price, please." in editor.get("/admin/").content.decode()
    html = editor.get(f"/admin/pages/{at_client.page.pk}/edit/").content.decode()
    assert "Sent back by Jo Client (client)" in html
    rows = html.split("data-post-closed")
    assert "Asked to change:</strong> Add the price, please." in rows[2]  # post 2's row
    assert "Asked to change" not in rows[1]


@pytest.mark.parametrize("change, status, text", [
    ({"expires_at": timezone.now() - dt.timedelta(minutes=1)}, 410, "has expired"),
    ({"revoked_at": timezone.now()}, 410, "was withdrawn"),
])
def test_expired_and_revoked_links_get_a_clear_page_and_change_nothing(world, at_client, change,
                                                                       status, text):
    token = at_client.tokens["jo@acme.example"]
    with schema_context(world.acme.client.schema_name):
        ReviewLink.objects.filter(approver__email="jo@acme.example").update(**change)
    for response in (_anonymous(world).get(f"/review/{token}/"),
                     _anonymous(world).post(f"/review/{token}/", {"decision": "approved"})):
        assert response.status_code == status and text in response.content.decode()
    assert _status(world, at_client.task_state) == "in_progress"


def test_unknown_and_other_brands_tokens_are_not_valid_here(world, at_client):
    token = at_client.tokens["jo@acme.example"]
    response = HostClient(world.globex.host).get(f"/review/{token}/")
    assert response.status_code == 404 and "not valid" in response.content.decode()
    assert _anonymous(world).get("/review/not-a-token/").status_code == 404


def test_decisions_need_the_csrf_token(world, at_client):
    token = at_client.tokens["jo@acme.example"]
    strict = Client(HTTP_HOST=world.acme.host, enforce_csrf_checks=True)
    assert strict.post(f"/review/{token}/", {"decision": "approved"}).status_code == 403
    assert _status(world, at_client.task_state) == "in_progress"


def _opened(world, email):
    with schema_context(world.acme.client.schema_name):
        link = ReviewLink.objects.get(approver__email=email)
        logged = set(PageLogEntry.objects.filter(action__in=[
            "approvals.link_fetched", "approvals.link_opened"]).values_list("action", flat=True))
    return link, logged


def test_a_bare_fetch_is_labelled_as_such_and_a_person_opens_it(world, http, at_client):
    """Mail scanners fetch every link in a message: a GET is a fetch. The page's beacon (sent
    on a sign of a person, with CSRF) or a POST records the opening."""
    jo = at_client.tokens["jo@acme.example"]
    scanner = _anonymous(world)
    for _ in range(2):
        assert scanner.get(f"/review/{jo}/", HTTP_USER_AGENT="SafeLinks/1.0").status_code == 200
    link, logged = _opened(world, "jo@acme.example")
    assert link.first_fetched_at is not None and link.first_opened_at is None
    assert logged == {"approvals.link_fetched"}
    url = f"/admin/approvals/{at_client.page.pk}/links/"
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    html = manager.get(url).content.decode()
    assert 'data-status="opened"' not in html
    assert "link fetched" in html and "(maybe a mail scanner)" in html

    page = Client(HTTP_HOST=world.acme.host, enforce_csrf_checks=True)
    html = page.get(f"/review/{jo}/").content.decode()
    assert f'data-opened-url="/review/{jo}/opened/"' in html and "review_opened.js" in html
    assert page.post(f"/review/{jo}/opened/").status_code == 403  # no CSRF token
    assert _opened(world, "jo@acme.example")[0].first_opened_at is None
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    beacon = page.post(f"/review/{jo}/opened/", HTTP_X_CSRFTOKEN=csrf,
                       HTTP_USER_AGENT="PhoneBrowser/2.0")
    assert beacon.status_code == 204
    link, logged = _opened(world, "jo@acme.example")
    assert link.first_opened_at is not None
    assert logged == {"approvals.link_fetched", "approvals.link_opened"}
    with schema_context(world.acme.client.schema_name):
        opened = PageLogEntry.objects.get(action="approvals.link_opened")
        assert opened.data["user_agent"] == "PhoneBrowser/2.0"
    assert 'data-status="opened"' in manager.get(url).content.decode()

    # Without the script, the decision itself is the sign of a person.
    sam = at_client.tokens["sam@acme.example"]
    _anonymous(world).post(f"/review/{sam}/", {"decision": "approved"})
    assert _opened(world, "sam@acme.example")[0].first_opened_at is not None


def test_a_valid_link_opens_whatever_else_its_address_sent(world, at_client, settings):
    """Strays from a shared office address must not lock the approver out: the limit counts
    and refuses only tokens that lead nowhere."""
    settings.REVIEW_FAILURE_LIMIT = 3
    token = at_client.tokens["jo@acme.example"]
    stray = _anonymous(world)
    for n in range(settings.REVIEW_FAILURE_LIMIT + 2):
        stray.get(f"/review/stray-{n:040d}/")
    assert stray.get(f"/review/stray-{'x' * 40}/").status_code == 429
    approver = _anonymous(world)  # the same address
    assert approver.get(f"/review/{token}/").status_code == 200
    assert approver.get(f"/review/{token}/images/{at_client.image.pk}/").status_code == 200
    done = approver.post(f"/review/{token}/", {"decision": "approved"})
    assert done.status_code == 200 and "You approved" in done.content.decode()


def test_unknown_tokens_are_refused_per_address_past_the_limit(world, at_client, settings):
    settings.REVIEW_FAILURE_LIMIT = 3
    guesser = _anonymous(world)
    answers = [guesser.get(f"/review/guess-{n:040d}/").status_code for n in range(3)]
    assert answers == [404, 404, 404]
    refused = guesser.get(f"/review/guess-{'9' * 40}/")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "not valid" in refused.content.decode()
    # counted on every brand's host, and on the image and beacon addresses too
    assert HostClient(world.globex.host).get(f"/review/{'g' * 43}/").status_code == 429
    assert guesser.get(f"/review/{'i' * 43}/images/1/").status_code == 429
    assert guesser.post(f"/review/{'o' * 43}/opened/").status_code == 429
    # another address is not affected
    other = HostClient(world.acme.host, REMOTE_ADDR="203.0.113.9")
    assert other.get(f"/review/guess-{'8' * 40}/").status_code == 404
    # nor are sign-ins from the guessing address
    from tenants import ratelimit

    assert not ratelimit.is_blocked(username="someone@acme.test",
                                    request=guesser.get("/healthz").wsgi_request)


def test_staff_can_record_a_decision_the_client_gave_by_phone(world, at_client):
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    with schema_context(world.acme.client.schema_name):
        task_state = TaskState.objects.get(pk=at_client.task_state.pk)
        task = task_state.task.specific
        page = CampaignPage.objects.get(pk=at_client.page.pk)
        assert [a for a, _, _ in task.get_actions(page, manager)] == ["approve", "reject"]
        assert task.get_actions(page, world.acme.users[Role.EDITOR]) == []
        task.on_action(task_state, manager, "approve", comment="Jo, by phone, 3 pm")
        assert TaskState.objects.get(pk=task_state.pk).status == "approved"
        assert ReviewLink.objects.filter(closed_at__isnull=False).count() == 2


def test_editing_during_the_clients_review_supersedes_the_links(world, http, at_client):
    """The campaign changed after the link went out: the link says a newer version is coming
    rather than approving stale content."""
    token = at_client.tokens["jo@acme.example"]
    assert _anonymous(world).get(f"/review/{token}/").status_code == 200
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=at_client.page.pk).get_latest_revision_as_object()
        draft.title = "Winter roast (new prices)"
        draft.save_revision(user=world.acme.users[Role.EDITOR])
    for response in (_anonymous(world).get(f"/review/{token}/"),
                     _anonymous(world).post(f"/review/{token}/", {"decision": "approved"})):
        assert response.status_code == 410
        assert "There is a newer version of this campaign" in response.content.decode()
    assert _status(world, at_client.task_state) == "in_progress"


def test_editing_in_the_editor_during_approval_starts_it_again(world, http, at_client):
    from wagtail.models import WorkflowState

    from tests.forms import form_fields

    token = at_client.tokens["jo@acme.example"]
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    edit = f"/admin/pages/{at_client.page.pk}/edit/"
    fields = form_fields(editor.get(edit).content.decode(), "page-edit-form")
    fields["goal"] = ["Sell the winter roast, now cheaper"]
    response = editor.post(edit, fields, follow=True)
    assert "its approval starts again with the sensitivity review" in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        states = WorkflowState.objects.filter(object_id=str(at_client.page.pk)).order_by("pk")
        assert [s.status for s in states] == ["cancelled", "in_progress"]
        page = CampaignPage.objects.get(pk=at_client.page.pk)
        assert page.current_workflow_task.name == "Sensitivity review"
    assert _anonymous(world).get(f"/review/{token}/").status_code == 410


def test_managers_withdraw_a_link_or_send_a_new_one(world, http, at_client):
    jo, sam = (at_client.tokens[e] for e in ("jo@acme.example", "sam@acme.example"))
    url = f"/admin/approvals/{at_client.page.pk}/links/"
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    _anonymous(world).post(f"/review/{jo}/opened/")  # the page's beacon: Jo has it open
    html = manager.get(url).content.decode()
    assert 'data-status="opened"' in html and 'data-status="sent"' in html
    with schema_context(world.acme.client.schema_name):
        links = {link.approver.email: link.pk for link in ReviewLink.objects.all()}
    manager.post(url, {"link": links["jo@acme.example"], "action": "revoke"})
    assert _anonymous(world).get(f"/review/{jo}/").status_code == 410
    response = manager.post(url, {"link": links["sam@acme.example"], "action": "resend"},
                            follow=True)
    assert "A new link is on its way to sam@acme.example" in response.content.decode()
    assert _anonymous(world).get(f"/review/{sam}/").status_code == 410
    with schema_context(world.acme.client.schema_name):
        assert ReviewLink.objects.filter(approver__email="sam@acme.example",
                                         revoked_at__isnull=True).count() == 1
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert editor.get(url).status_code == 200
    refused = editor.post(url, {"link": links["sam@acme.example"], "action": "revoke"},
                          follow=True)
    assert "Only account managers and agency admins manage links." in refused.content.decode()


def test_the_approval_history_downloads_as_csv_without_formulas(world, http, at_client):
    jo = at_client.tokens["jo@acme.example"]
    _anonymous(world).get(f"/review/{jo}/", HTTP_USER_AGENT="PhoneBrowser/1.0")
    _anonymous(world).post(f"/review/{jo}/", {"decision": "changes_requested",
                                              "comment": "=HYPERLINK(\"http://evil\")"})
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.get(f"/admin/approvals/{at_client.page.pk}/history.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "Review links sent to the client" in text and "jo@acme.example" in text
    assert "The client opened a review link" in text and "PhoneBrowser/1.0" in text
    assert "The client requested changes" in text
    import csv

    cells = [cell for row in csv.reader(text.splitlines()) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")], "a cell a spreadsheet would run"
    assert any("HYPERLINK" in c for c in cells)
    outsider = http(world.acme.host, user=world.globex.users[Role.ACCOUNT_MANAGER])
    assert outsider.get(f"/admin/approvals/{at_client.page.pk}/history.csv").status_code \
        in (302, 403)


def test_reminders_go_once_before_a_link_expires(world, at_client,
                                                 django_capture_on_commit_callbacks):
    from approvals.tasks import brand_review_reminders

    with schema_context(world.acme.client.schema_name):
        ReviewLink.objects.filter(approver__email="jo@acme.example").update(
            expires_at=timezone.now() + dt.timedelta(hours=12))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert brand_review_reminders(world.acme.client)["reminded"] == 1
            assert brand_review_reminders(world.acme.client)["reminded"] == 0
    [reminder] = mail.outbox
    assert reminder.to == ["jo@acme.example"] and "Reminder" in reminder.subject
    assert "/review/" not in reminder.body  # the token is not stored, so never re-sent


def test_backup_approvers_are_asked_when_nobody_answers(world, at_client,
                                                        django_capture_on_commit_callbacks):
    from approvals.tasks import brand_review_reminders

    with schema_context(world.acme.client.schema_name):
        assert brand_review_reminders(world.acme.client)["backups_asked"] == 0  # too early
        TaskState.objects.filter(pk=at_client.task_state.pk).update(
            started_at=timezone.now() - dt.timedelta(days=3))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert brand_review_reminders(world.acme.client)["backups_asked"] == 1
            assert brand_review_reminders(world.acme.client)["backups_asked"] == 0
        assert ReviewLink.objects.filter(approver__email="bea@acme.example").count() == 1
    assert [m.to for m in mail.outbox] == [["bea@acme.example"]]


def test_the_reminder_schedule_exists_in_the_shared_queue(world):
    from django_q.models import Schedule

    from approvals.tasks import review_reminders

    schedule = Schedule.objects.get(name="approval reminders")
    assert (schedule.func, schedule.minutes) == ("approvals.tasks.review_reminders", 15)
    result = review_reminders()  # visits every brand
    assert set(result) == {"reminded", "backups_asked", "deadlines_missed"}
    assert connection.schema_name == "public"


def test_a_reminder_goes_when_the_approval_is_due_soon(world, at_client,
                                                       django_capture_on_commit_callbacks):
    from approvals.models import ApprovalSettings
    from approvals.tasks import brand_review_reminders

    with schema_context(world.acme.client.schema_name):
        assert brand_review_reminders(world.acme.client)["reminded"] == 0  # links last 7 days
        settings = ApprovalSettings.load()
        settings.due_hours_before_first_post = 30 * 24 - 12  # due in 12 hours
        settings.save()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert brand_review_reminders(world.acme.client)["reminded"] == 2
    assert sorted(m.to[0] for m in mail.outbox if "Reminder" in m.subject) == [
        "jo@acme.example", "sam@acme.example"]


def test_a_missed_deadline_holds_the_posts_and_tells_the_team_once(
        world, at_client, django_capture_on_commit_callbacks):
    from approvals.models import ApprovalSettings, DeadlineMiss
    from approvals.tasks import brand_review_reminders

    with schema_context(world.acme.client.schema_name):
        settings = ApprovalSettings.load()
        settings.due_hours_before_first_post = 31 * 24  # was due a day ago
        settings.save()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert brand_review_reminders(world.acme.client)["deadlines_missed"] == 1
            assert brand_review_reminders(world.acme.client)["deadlines_missed"] == 0
        miss = DeadlineMiss.objects.get()
        assert miss.page_id == at_client.page.pk
        assert PageLogEntry.objects.filter(action="approvals.deadline_missed").count() == 1
        assert not CampaignPage.objects.get(pk=at_client.page.pk).live  # nothing goes out
    [notice] = [m for m in mail.outbox if "Not approved in time" in m.subject]
    assert {world.acme.users[Role.ACCOUNT_MANAGER].email, world.acme.users[Role.EDITOR].email,
            world.acme.users[Role.AGENCY_ADMIN].email} <= set(notice.to)
    assert "Its posts are held" in notice.body


def test_managers_set_the_brands_approval_deadlines(world, http):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    opened = manager.get("/admin/settings/approvals/approvalsettings/", follow=True)
    assert opened.status_code == 200 and "Approval deadlines" in opened.content.decode()
    url = opened.redirect_chain[-1][0] if opened.redirect_chain else \
        "/admin/settings/approvals/approvalsettings/"
    response = manager.post(url, {"due_hours_before_first_post": "72",
                                  "remind_hours_before": "12", "backup_after_hours": "24"},
                            follow=True)
    assert response.status_code == 200
    from approvals.models import ApprovalSettings

    with schema_context(world.acme.client.schema_name):
        assert ApprovalSettings.load().due_hours_before_first_post == 72
    with schema_context(world.globex.client.schema_name):
        assert ApprovalSettings.load().due_hours_before_first_post == 48
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    editor.post(url, {"due_hours_before_first_post": "1", "remind_hours_before": "1",
                      "backup_after_hours": "1"})
    with schema_context(world.acme.client.schema_name):
        assert ApprovalSettings.load().due_hours_before_first_post == 72


# --- A link's status: one word for the approver, the staff's list, the API and the tasks ------


def test_a_withdrawn_link_says_withdrawn_to_the_approver_and_to_staff(world, http, at_client):
    jo = at_client.tokens["jo@acme.example"]
    url = f"/admin/approvals/{at_client.page.pk}/links/"
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    with schema_context(world.acme.client.schema_name):
        link = ReviewLink.objects.get(approver__email="jo@acme.example")
    manager.post(url, {"link": link.pk, "action": "revoke"})
    for response in (_anonymous(world).get(f"/review/{jo}/"),
                     _anonymous(world).post(f"/review/{jo}/", {"decision": "approved"})):
        page = response.content.decode()
        assert response.status_code == 410 and "This review link was withdrawn" in page
        assert "revoked" not in page.lower()
    listed = manager.get(url).content.decode()
    row = next(r for r in listed.split("<tr")[1:] if "jo@acme.example" in r)
    assert 'data-status="withdrawn"' in row and "Withdrawn" in row
    assert "revoked" not in listed.lower()


def _links_in_every_status(world, at_client) -> dict:
    """Besides Jo's (opened) and Sam's (sent) links, Bea has a link in each other status (one
    for each way to reach it). Returns their tokens and the status each should have."""
    from approvals.links import token_hash
    from approvals.models import LinkStatus

    with schema_context(world.acme.client.schema_name):
        task_state = TaskState.objects.get(pk=at_client.task_state.pk)
        old = task_state.revision
        page = CampaignPage.objects.get(pk=at_client.page.pk)
        newer = page.save_revision(user=world.acme.users[Role.EDITOR])
        # Jo's and Sam's links show the newest revision; the "superseded" one the older.
        ReviewLink.objects.update(revision=newer)
        ReviewLink.objects.filter(approver__email="jo@acme.example").update(
            first_opened_at=timezone.now())
        bea = ApproverContact.objects.get(email="bea@acme.example")
        restarted = TaskState.objects.exclude(pk=task_state.pk).get(
            workflow_state=task_state.workflow_state)  # the sensitivity review's step
        restarted.status = TaskState.STATUS_CANCELLED
        restarted.save(update_fields=["status"])
        later = timezone.now() + dt.timedelta(days=3)
        tokens = {}
        for status, values in [
                (LinkStatus.DECIDED, {"decided_at": timezone.now(), "decision": "approved"}),
                (LinkStatus.WITHDRAWN, {"revoked_at": timezone.now()}),
                (LinkStatus.CLOSED, {"closed_at": timezone.now()}),
                (LinkStatus.CLOSED, {"task_state_id": 2_000_000_000}),  # a step that is gone
                (LinkStatus.SUPERSEDED, {"task_state_id": restarted.pk}),
                (LinkStatus.SUPERSEDED, {"revision": old}),
                (LinkStatus.EXPIRED, {"expires_at": timezone.now() - dt.timedelta(minutes=1)})]:
            token = f"status-{len(tokens)}-{status}"
            tokens[token] = status
            ReviewLink.objects.create(**{
                "token_hash": token_hash(token), "task_state_id": task_state.pk,
                "revision": newer, "approver": bea, "expires_at": later, **values})
    return tokens


def test_the_api_filters_links_by_the_status_each_link_shows(world, at_client):
    from approvals.models import LinkStatus, status_of
    from tests.api.conftest import ApiClient, make_key

    _links_in_every_status(world, at_client)
    with schema_context(world.acme.client.schema_name):
        now = timezone.now()
        expected = {status: set() for status in LinkStatus}
        for link in ReviewLink.objects.all():
            expected[status_of(link, now)].add(link.pk)
    assert all(expected.values()), expected  # every status is there to be filtered
    api = ApiClient(world.acme.host, make_key(world.acme))
    for status, ids in expected.items():
        response = api.send("GET", f"/api/v1/review-links/?status={status}")
        assert response.status_code == 200, response.content
        rows = response.json()["results"]
        assert {row["id"] for row in rows} == ids, status
        assert {row["status"] for row in rows} == {status}
    assert api.send("GET", "/api/v1/review-links/?status=revoked").status_code == 400


def test_the_approvers_page_says_what_the_staff_list_says(world, http, at_client):
    """Each link that no longer takes a decision shows the approver the page of its status and
    refuses a decision; staff see the same status in their list."""
    from approvals.models import LinkStatus
    from approvals.views import PROBLEM_PAGES

    tokens = _links_in_every_status(world, at_client)
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    listed = manager.get(f"/admin/approvals/{at_client.page.pk}/links/").content.decode()
    shown = re.findall(r'<tr data-status="(\w+)">', listed)
    assert sorted(shown) == sorted([LinkStatus.OPENED, LinkStatus.SENT, *tokens.values()])
    for token, status in tokens.items():
        for response in (_anonymous(world).get(f"/review/{token}/"),
                         _anonymous(world).post(f"/review/{token}/", {"decision": "approved"})):
            page = response.content.decode()
            if status == LinkStatus.DECIDED:
                assert response.status_code == 200 and "You approved" in page
            else:
                code, title, _ = PROBLEM_PAGES[status]
                assert (response.status_code, title) == (code, html.unescape(
                    re.search(r"<h1>(.*?)</h1>", page).group(1)))
    assert _status(world, at_client.task_state) == "in_progress"


def test_reminders_skip_links_that_no_longer_take_a_decision(world, at_client,
                                                           django_capture_on_commit_callbacks):
    from approvals.tasks import brand_review_reminders

    with schema_context(world.acme.client.schema_name):
        ReviewLink.objects.update(expires_at=timezone.now() + dt.timedelta(hours=12))
        draft = CampaignPage.objects.get(pk=at_client.page.pk)
        draft.save_revision(user=world.acme.users[Role.EDITOR])  # both links now superseded
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert brand_review_reminders(world.acme.client)["reminded"] == 0
    assert not mail.outbox
