"""A member of brand A reaches nothing of brand B: every URL the project serves, both ways in.

The URL patterns are enumerated from the URL confs, so a URL added later is covered without
touching this file. Each pattern is requested with real ids and paths of brand B's objects (pages,
images, documents, collections, workflows, media files), by GET and by POST (CSRF checks off,
which only makes a leak easier), as an *agency admin of brand A* on brand B's host.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from itertools import product

import pytest
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.db import connection
from django.urls import URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django_tenants.utils import schema_context

from tenants.models import Role

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
# Wagtail's own "failwhale" view raises on purpose to show the error page; it holds no data.
DELIBERATE_ERRORS = {"wagtailadmin_error_test"}
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


ROUTE_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)")


def _candidates(name: str, conv: str | None, samples: dict) -> list[str]:
    lowered = name.lower()
    if conv == "path" or lowered in {"path", "file_path"}:
        return samples["paths"]
    if "app" in lowered and "label" in lowered or lowered == "content_type_app_name":
        return ["campaigns", "wagtailimages", "wagtaildocs"]
    if "model" in lowered:
        return ["campaignpage", "image", "document"]
    if "filename" in lowered:
        return samples["filenames"]
    if lowered == "uidb64":
        return ["MQ"]
    if lowered == "token":
        return ["set-password"]
    if conv == "uuid":
        return ["00000000-0000-0000-0000-000000000001"]
    if lowered == "slug":
        return ["globex", "acme"]
    if conv == "int" or lowered.endswith("id") or lowered in {"pk", "id"}:
        return samples["ids"]
    return samples["ids"] + ["x"]


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
    return [template.format(*combo) for combo in product(*options)][:12]


def _paths_for(segments, samples: dict) -> list[str]:
    per_segment = [_segment_options(seg, samples) for seg in segments]
    if any(not opts for opts in per_segment):
        return []
    return ["/" + "".join(parts) for parts in list(product(*per_segment))[:12]]


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


@pytest.fixture
def globex_objects(world):
    """Real objects in brand B (globex): a campaign, an image, a document, a media file."""
    from wagtail.documents.models import Document
    from wagtail.images.models import Image
    from wagtail.models import Collection, Task, Workflow

    from campaigns.models import CampaignIndexPage, CampaignPage
    from tests.images import png_bytes

    with schema_context(world.globex.client.schema_name):
        index = CampaignIndexPage.objects.get()
        campaign = index.add_child(instance=CampaignPage(title="Globex secret launch",
                                                         goal="Confidential"))
        image = Image.objects.create(title="Globex secret image",
                                     file=ImageFile(io.BytesIO(png_bytes()), name="secret.png"))
        document = Document(title="Globex secret brief")
        document.file.save("secret.txt", ContentFile(b"globex confidential"), save=False)
        document.save()
        ids = sorted({index.pk, campaign.pk, image.pk, document.pk,
                      Collection.get_first_root_node().pk, Workflow.objects.first().pk,
                      Task.objects.first().pk})
        paths = [image.file.name, f"{connection.schema_name}/{image.file.name}",
                 document.file.name, f"{connection.schema_name}/{document.file.name}"]
        return {"ids": [str(i) for i in ids], "paths": paths,
                "filenames": [document.filename, "x"],
                "secrets": [b"Globex secret", b"globex confidential", b"Globex Outdoors"]}


def _assert_denied(response, target: Target, method: str, secrets: list[bytes]):
    body = b"".join(response.streaming_content) if response.streaming else response.content
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
    if status == 500 and target.name in DELIBERATE_ERRORS:
        return
    pytest.fail(f"{method} {target.path} ({target.name}) answered {status} to a member of "
                "another brand")


def test_every_brand_url_refuses_a_member_of_another_brand(world, http, globex_objects):
    found, missing = targets("agency.urls_tenant", globex_objects)
    assert not missing, "cannot build a sample path for: " + ", ".join(missing)
    assert len({t.name for t in found}) > 150  # Wagtail's admin alone has ~190 views

    intruder = http(world.globex.host, user=world.acme.users[Role.AGENCY_ADMIN],
                    raise_request_exception=False)
    for target in found:
        for method in ("get", "post"):
            response = getattr(intruder, method)(target.path)
            _assert_denied(response, target, method.upper(), globex_objects["secrets"])


def test_the_same_urls_do_serve_brand_b_to_its_own_admin(world, http, globex_objects):
    """Positive control: the sample paths are real, so the refusals above mean something."""
    found, _ = targets("agency.urls_tenant", globex_objects)
    owner = http(world.globex.host, user=world.globex.users[Role.AGENCY_ADMIN],
                 raise_request_exception=False)
    statuses = {}
    for t in found:
        if t.name in PUBLIC_NAMES:
            continue  # signing out would end the session the control relies on
        statuses.setdefault(t.name, set()).add(owner.get(t.path).status_code)
    ok = {name for name, codes in statuses.items() if 200 in codes}
    for name in ["wagtailadmin_home", "wagtailadmin_explore", "wagtailimages:edit",
                 "wagtaildocs:edit", "wagtailadmin_pages:edit", "brand_media", "wagtaildocs_serve"]:
        assert name in ok, f"{name} did not serve brand B's own admin: {statuses.get(name)}"


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
