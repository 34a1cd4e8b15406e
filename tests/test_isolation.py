"""A member of brand A reaches nothing of brand B: every URL the project serves, both ways in.

The URL patterns are enumerated from the URL confs, so a URL added later is covered without
touching this file. Each pattern is requested with real ids and paths of a brand's objects (pages,
images, documents, collections, workflows, tasks, settings, media files), as each role of brand A
(signed in, and with an API key of their own):

- on brand A's own host, every page, form and API answer shows nothing of brand B, nor any group
  or account that is not brand A's (how a task form listing "globex: ..." groups showed);
- on brand B's host, with brand B's ids, by GET and by POST (CSRF checks off, which only makes a
  leak easier), everything is refused and shows nothing of brand B;
- nowhere does a route answer 5xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product, zip_longest

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django_tenants.utils import schema_context

from tenants.models import Client, Role
from tests.factories import CampaignFactory, ChannelFactory, ImageFactory

pytestmark = pytest.mark.django_db

# Pages anyone may open: signing in, resetting a password, health. They must still show nothing of
# any brand, which the test checks.
PUBLIC_NAMES = {
    "wagtailadmin_login", "wagtailadmin_password_reset", "wagtailadmin_password_reset_done",
    "wagtailadmin_password_reset_confirm", "wagtailadmin_password_reset_complete",
    "brand_healthz", "healthz", "readyz", "brand_home", "brand_login",
    "portal:login", "portal:password_reset", "portal:password_reset_done",
    "portal:password_reset_confirm", "portal:password_reset_complete",
    "wagtailadmin_logout", "portal:logout",
    # The API's OpenAPI document, its reference page and problem-type pages: no brand data.
    "api-schema", "api-docs", "api-problem",
    "portal-api-schema", "portal-api-docs", "portal-api-problem",
    # JavaScript catalogue and icons: static assets served by Wagtail's admin to the login page.
    "wagtailadmin_javascript_catalog", "wagtailadmin_sprite", "wagtailadmin_icons",
}
# Signing out would end the session the crawl relies on.
LOGOUT_NAMES = {"wagtailadmin_logout", "portal:logout"}
DENIED = {401, 403, 404, 405, 410}
LOGIN_PATHS = ("/admin/login/", "/login/")


@dataclass
class Target:
    name: str
    route: str
    path: str


def _walk(resolver, segments=(), namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, (*segments, entry.pattern), ns)
        else:
            name = f"{namespace}{entry.name}" if entry.name else "<unnamed>"
            yield name, (*segments, entry.pattern), entry


MAX_PATHS = 12  # sample paths per URL pattern
ROUTE_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)")


def _is_app(name: str) -> bool:
    return name in {"app_name", "content_type_app_name"} or "app" in name and "label" in name


def _candidates(name: str, conv: str | None, samples: dict) -> list[str]:
    lowered = name.lower()
    if conv == "path" or lowered in {"path", "file_path"}:
        return samples["paths"]
    if _is_app(lowered):
        return list(dict.fromkeys(app for app, _ in samples["models"]))
    if "model" in lowered:
        return list(dict.fromkeys(model for _, model in samples["models"]))
    if "filename" in lowered:
        return samples["filenames"]
    if lowered == "uidb64":
        return ["MQ"]
    if lowered == "token":
        return ["set-password"]
    if conv == "uuid":
        return ["00000000-0000-0000-0000-000000000001"]
    if lowered == "slug":
        return samples["slugs"]
    if conv == "int" or lowered.endswith("id") or lowered in {"pk", "id"}:
        return samples["ids"]
    return samples["ids"] + ["x"]


def _combinations(params: list[str], options: list[list[str]], samples: dict) -> list[tuple]:
    """Every combination of the options, except that an app label and a model name go together
    as the real models do (approvals/sensitivityreviewtask, not approvals/image), the model's
    own ids first (its settings row, its tasks)."""
    lowered = [p.lower() for p in params]
    app = next((i for i, p in enumerate(lowered) if _is_app(p)), None)
    model = next((i for i, p in enumerate(lowered) if "model" in p and i != app), None)
    if app is None or model is None:
        return list(product(*options))

    def fixed(app_label: str, model_name: str) -> list[list[str]]:
        own = samples["model_ids"].get((app_label, model_name), [])
        return [[app_label] if i == app else [model_name] if i == model
                else own + [o for o in opts if o not in own] if name in {"pk", "object_id"}
                else opts for i, (name, opts) in enumerate(zip(lowered, options, strict=True))]

    per_model = [list(product(*fixed(app_label, model_name)))
                 for app_label, model_name in samples["models"]]
    # Round robin, so that every model gets a path before any gets a second one.
    return [combo for combos in zip_longest(*per_model) for combo in combos if combo]


def _segment_options(pattern, samples: dict) -> list[str]:
    route = getattr(pattern, "_route", None)
    if route is not None:
        params = list(ROUTE_PARAM.finditer(route))
        options = [_candidates(m["name"], m["conv"], samples) for m in params]
        template = ROUTE_PARAM.sub("{}", route.replace("{", "{{").replace("}", "}}"))
    else:
        regex = pattern.regex.pattern
        params = list(REGEX_PARAM.finditer(regex))
        options = [
            [v for v in _candidates(m["name"], None, samples) + ["x"] if re.fullmatch(m["body"], v)]
            for m in params
        ]
        template = REGEX_PARAM.sub("{}", regex)
        template = re.sub(r"^\^|\\Z$|\$$", "", template).replace(".*", "x").replace("\\", "")
    if any(not opt for opt in options):
        return []
    combos = _combinations([m["name"] for m in params], options, samples)
    return [template.format(*combo) for combo in combos][:MAX_PATHS]


def _paths_for(segments, samples: dict) -> list[str]:
    per_segment = [_segment_options(seg, samples) for seg in segments]
    if any(not opts for opts in per_segment):
        return []
    return ["/" + "".join(parts) for parts in list(product(*per_segment))[:MAX_PATHS]]


def targets(urlconf: str, samples: dict) -> tuple[list[Target], list[str]]:
    found, missing = [], []
    for name, segments, entry in _walk(get_resolver(urlconf)):
        route = "".join(str(seg) for seg in segments)
        usable = []
        for path in _paths_for(segments, samples):
            try:
                match = get_resolver(urlconf).resolve(path)
            except Resolver404:
                continue
            if match.func == entry.callback or getattr(match.func, "__wrapped__", None) == getattr(
                    entry.callback, "__wrapped__", object()):
                usable.append(Target(name=name, route=route, path=path))
        if usable:
            found.extend(usable)
        else:
            missing.append(f"{name} ({route})")
    return found, missing


def _sample_models() -> list[tuple[str, str]]:
    """(app label, model name) of what the admin's generic URLs take: every workflow task type,
    every setting, and the content models."""
    from django.apps import apps
    from wagtail.contrib.settings.models import BaseGenericSetting, BaseSiteSetting
    from wagtail.models import Task

    kinds = (Task, BaseGenericSetting, BaseSiteSetting)
    models = [(m._meta.app_label, m._meta.model_name) for m in apps.get_models()
              if issubclass(m, kinds)]
    return models + [("campaigns", "campaignpage"), ("wagtailimages", "image"),
                     ("wagtaildocs", "document")]


def brand_objects(brand, label: str) -> dict:
    """Real objects in ``brand`` (a campaign, an image, a document, a media file) and the samples
    that URL patterns are filled with: their ids and paths, and the brand's workflows and tasks."""
    from django.apps import apps
    from django.utils import timezone
    from wagtail.contrib.settings.models import BaseGenericSetting
    from wagtail.documents.models import Document
    from wagtail.models import Collection, Task, Workflow

    from campaigns.conversations.models import Item, ModerationAction, Note
    from campaigns.models import CampaignIndexPage

    models = _sample_models()
    with schema_context(brand.client.schema_name):
        index = CampaignIndexPage.objects.get()
        campaign = CampaignFactory(title=f"{label} secret launch", goal="Confidential",
                                   live=True, revision=False)
        image = ImageFactory(title=f"{label} secret image", filename="secret.png")
        document = Document(title=f"{label} secret brief")
        document.file.save("secret.txt", ContentFile(f"{label.lower()} confidential".encode()),
                           save=False)
        document.save()
        # An inbox item with a note and a moderation action (/admin/inbox/, the API's
        # /api/v1/conversations/<id>/ and its notes, undo and replies).
        channel = ChannelFactory(name=f"{label} secret channel")
        item = Item.objects.create(channel=channel, network="mastodon", remote_id="1",
                                   author_handle="@someone", created_at=timezone.now(),
                                   text=f"{label} secret complaint")
        Note.objects.create(item=item, text=f"{label} secret note")
        flag = ModerationAction.objects.create(item=item, what="flag", automatic=True,
                                               reason=f"{label} secret reason")
        ids = sorted({index.pk, campaign.pk, image.pk, document.pk, item.pk, flag.pk,
                      Collection.get_first_root_node().pk,
                      *Workflow.objects.values_list("pk", flat=True),
                      *Task.objects.values_list("pk", flat=True)})
        paths = [image.file.name, f"{connection.schema_name}/{image.file.name}",
                 document.file.name, f"{connection.schema_name}/{document.file.name}"]
        model_ids = {("campaigns", "campaignpage"): [campaign.pk],
                     ("wagtailimages", "image"): [image.pk],
                     ("wagtaildocs", "document"): [document.pk]}
        for app_model in models:
            model = apps.get_model(*app_model)
            if issubclass(model, BaseGenericSetting):
                model.load()  # the brand's settings row, as its first visit makes it
            model_ids.setdefault(app_model, list(model.objects.values_list("pk", flat=True)))
        return {"ids": [str(i) for i in ids], "paths": paths, "slugs": [brand.client.slug],
                "filenames": [document.filename, "x"], "models": models,
                "model_ids": {k: [str(i) for i in v] for k, v in model_ids.items()},
                "secrets": [f"{label} secret".encode(), f"{label.lower()} confidential".encode(),
                            brand.client.name.encode()]}


@pytest.fixture
def globex_objects(world):
    """Real objects in brand B (globex), and samples that name them."""
    return {**brand_objects(world.globex, "Globex"), "slugs": ["globex", "acme"]}


@pytest.fixture
def acme_objects(world):
    """Real objects in brand A (acme), and samples that name them."""
    return brand_objects(world.acme, "Acme")


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _assert_denied(response, target: Target, method: str, secrets: list[bytes]):
    body = _body(response)
    for secret in secrets:
        assert secret not in body, f"{method} {target.path} ({target.name}) shows {secret!r}"
    status = response.status_code
    if status in DENIED:
        return
    if status in {301, 302, 303, 307, 308}:
        location = response["Location"]
        if any(p in location for p in LOGIN_PATHS) or target.name in PUBLIC_NAMES:
            return
        if location in {"/admin/"} and target.name == "brand_home":
            return
    if status == 200 and target.name in PUBLIC_NAMES:
        return
    pytest.fail(f"{method} {target.path} ({target.name}) answered {status} to a member of "
                "another brand")


def member_client(brand, host: str, role: str):
    """``brand``'s member of ``role``, signed in on ``host`` and sending an API key of their own
    (admin pages read the session, the API the key)."""
    from agency.api.services import api_key_create
    from tests.conftest import HostClient

    user = brand.users[role]
    with schema_context(brand.client.schema_name):
        _, key = api_key_create(name="Crawl", scopes=["read", "write", "approve"], user=user)
    client = HostClient(host, headers={"Authorization": f"Bearer {key}"},
                        raise_request_exception=False)
    user.refresh_from_db(fields=["password"])
    client.force_login(user)
    return client


def marks_foreign_to(brand) -> tuple[list[bytes], re.Pattern]:
    """What no page of ``brand`` may show: (exactly) the names of groups that are not the brand's
    role groups (other brands', the agency's, Wagtail's), the addresses of accounts that are not
    the brand's members, other brands' names; (as a word, in any case) other brands' short names,
    as in their hosts, schemas, groups, staff ("Editor globex") and "Globex secret" objects."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    others = Client.objects.brands().exclude(pk=brand.client.pk)
    exact = {c.name for c in others}
    exact |= set(Group.objects.exclude(role_scope__client=brand.client)
                 .values_list("name", flat=True))
    for user in get_user_model().objects.exclude(memberships__client=brand.client):
        exact |= {user.email, user.get_username()}
    slugs = b"|".join(re.escape(c.slug.encode()) for c in others)
    return (sorted(m.encode() for m in exact if m),
            re.compile(rb"(?<![a-z0-9])(" + slugs + rb")(?![a-z0-9])", re.IGNORECASE))


def fetch(client, method: str, path: str):
    """``method`` ``path`` with ``client``, then the messages it left for the next page dropped:
    a crawl collects one on nearly every refused page, never opens a page that would show them,
    and each request would decode them all (most of the crawl's time)."""
    response = getattr(client, method)(path)
    client.cookies.pop(CookieStorage.cookie_name, None)
    return response


@pytest.fixture
def crawl(settings):
    """Messages in the cookie only, so ``fetch`` can drop them (not in the session)."""
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_only_its_own_brand_on_its_own_host(world, crawl, acme_objects,
                                                           globex_objects, role):
    """Every page, form and API answer of brand A (acme), with its real ids, as each of its
    roles: nothing of brand B (globex, whose objects exist too), no group or account that is not
    brand A's, no 5xx."""
    found, missing = targets("agency.urls_tenant", acme_objects)
    assert not missing, "cannot build a sample path for: " + ", ".join(missing)
    exact, folded = marks_foreign_to(world.acme)
    assert b"Globex Outdoors" in exact and folded.search(globex_objects["secrets"][0])
    member = member_client(world.acme, world.acme.host, role)
    problems, served = [], set()
    for target in found:
        if target.name in LOGOUT_NAMES:
            continue
        response = fetch(member, "get", target.path)
        body = _body(response)
        if response.status_code >= 500:
            problems.append(f"GET {target.path} ({target.name}) answered "
                            f"{response.status_code}")
        shown = [m for m in exact if m in body] + folded.findall(body)
        if shown:
            problems.append(f"GET {target.path} ({target.name}) shows {shown}")
        if response.status_code == 200:
            served.add(target.name)
    assert not problems, f"{role} of acme, on acme's host:\n" + "\n".join(problems[:40])
    # The crawl reached the brand's own pages and forms, and so the pickers on them.
    expected = {"wagtailadmin_home", "api-campaign-list", "api-campaign-detail"}
    if role != Role.SENSITIVITY_REVIEWER:  # reviewers act on their tasks, not in the explorer
        expected |= {"wagtailadmin_explore", "wagtailimages:edit", "wagtaildocs:edit"}
    if role == Role.AGENCY_ADMIN:
        expected |= {"wagtailadmin_pages:edit", "wagtailadmin_workflows:add_task",
                     "wagtailadmin_workflows:edit_task", "wagtailadmin_workflows:edit",
                     "wagtailsettings:edit", "wagtailadmin_pages:set_privacy"}
    assert expected <= served, f"not served to {role}: {sorted(expected - served)}"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_of_one_brand_is_refused_everything_on_another_brands_host(
        world, crawl, globex_objects, role):
    """Brand B's paths, with its real ids, as each role of brand A, signed in and with an API key
    of brand A, on brand B's host: every GET and POST is refused and shows nothing of brand B."""
    found, missing = targets("agency.urls_tenant", globex_objects)
    assert not missing, "cannot build a sample path for: " + ", ".join(missing)
    assert len({t.name for t in found}) > 150  # Wagtail's admin alone has ~190 views
    from django.contrib.auth.models import Group

    secrets = globex_objects["secrets"] + [u.email.encode() for u in world.globex.users.values()]
    secrets += [name.encode() for name in Group.objects.filter(
        role_scope__client=world.globex.client).values_list("name", flat=True)]
    intruder = member_client(world.acme, world.globex.host, role)
    for target in found:
        for method in ("get", "post"):
            response = fetch(intruder, method, target.path)
            _assert_denied(response, target, method.upper(), secrets)


def test_the_same_urls_do_serve_brand_b_to_its_own_admin(world, http, globex_objects):
    """Positive control: the sample paths are real, so the refusals above mean something."""
    expected = {"wagtailadmin_home", "wagtailadmin_explore", "wagtailimages:edit",
                "wagtaildocs:edit", "wagtailadmin_pages:edit", "brand_media", "wagtaildocs_serve",
                "wagtailadmin_workflows:edit_task", "api-campaign-detail"}
    found, _ = targets("agency.urls_tenant", globex_objects)
    owner = member_client(world.globex, world.globex.host, Role.AGENCY_ADMIN)
    statuses = {}
    for t in found:
        if t.name in expected:
            statuses.setdefault(t.name, set()).add(owner.get(t.path).status_code)
    for name in expected:
        assert 200 in statuses.get(name, ()), f"{name} did not serve brand B's own admin: " \
                                              f"{statuses.get(name)}"


def test_every_portal_url_refuses_what_a_user_is_not_a_member_of(world, http, globex_objects):
    found, missing = targets("agency.urls_public", {**globex_objects, "ids": [
        str(u.pk) for u in world.globex.users.values()]})
    assert not missing, "cannot build a sample path for: " + ", ".join(missing)
    intruder = http(user=world.acme.users[Role.AGENCY_ADMIN])
    for target in found:
        if "globex" not in target.path and target.name not in PUBLIC_NAMES:
            continue  # pages about the user's own clients; covered by the portal tests
        for method in ("get", "post"):
            response = getattr(intruder, method)(target.path)
            _assert_denied(response, target, method.upper(), [b"Globex Outdoors"])


def test_anonymous_visitors_get_nothing_from_a_brand_host(world, http, globex_objects):
    found, _ = targets("agency.urls_tenant", globex_objects)
    anonymous = http(world.globex.host, raise_request_exception=False)
    for target in found:
        response = anonymous.get(target.path)
        _assert_denied(response, target, "GET", globex_objects["secrets"])


def test_a_brand_media_path_is_refused_on_another_brands_host(world, http, globex_objects):
    path = "/media/" + globex_objects["paths"][1]
    assert http(world.globex.host, user=world.globex.users[Role.EDITOR]).get(
        path).status_code == 200
    # acme's own admin, on acme's host, asking for globex's file by its path
    response = http(world.acme.host, user=world.acme.users[Role.AGENCY_ADMIN]).get(path)
    assert response.status_code == 404


def test_wagtails_deliberate_error_page_is_gone(world, http):
    """Wagtail's "failwhale" page raised on purpose: a 500 (a debug page in development) for any
    signed-in member, on demand. No brand host serves it."""
    from django.urls import NoReverseMatch, reverse

    member = http(world.acme.host, user=world.acme.users[Role.EDITOR],
                  raise_request_exception=False)
    assert member.get("/admin/failwhale/").status_code == 404
    with pytest.raises(NoReverseMatch):
        reverse("wagtailadmin_error_test", urlconf="agency.urls_tenant")
