"""What each role may do inside a client. Data, so a reader sees every grant in one place."""

from tenants.models import Role

CHANNEL_ADMIN = ["campaigns.add_channel", "campaigns.change_channel", "campaigns.delete_channel",
                 "campaigns.view_channel"]
BRAND_WORDS_ADMIN = ["approvals.add_brandterm", "approvals.change_brandterm",
                     "approvals.delete_brandterm", "approvals.view_brandterm",
                     "approvals.add_approvercontact", "approvals.change_approvercontact",
                     "approvals.delete_approvercontact", "approvals.view_approvercontact",
                     "approvals.change_approvalsettings"]
# Retry, cancel and move deliveries on the brand's publishing queue.
PUBLISHING_STAFF = ["publishing.change_delivery", "publishing.view_delivery"]

# Create and revoke the brand's API keys.
API_KEYS_ADMIN = ["api.add_apikey", "api.change_apikey", "api.view_apikey"]

# Register, change and remove the brand's webhook endpoints; read and replay their deliveries.
WEBHOOKS_ADMIN = ["webhooks.add_webhookendpoint", "webhooks.change_webhookendpoint",
                  "webhooks.delete_webhookendpoint", "webhooks.view_webhookendpoint",
                  "webhooks.view_webhookdelivery"]

# Model-level permissions granted to the role's group (counted only inside its own client).
MODEL_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENCY_ADMIN: [
        "wagtailadmin.access_admin",
        "wagtailcore.add_workflow", "wagtailcore.change_workflow", "wagtailcore.delete_workflow",
        "wagtailcore.add_task", "wagtailcore.change_task", "wagtailcore.delete_task",
        "wagtailcore.add_collection", "wagtailcore.change_collection",
        "wagtailcore.delete_collection",
        *CHANNEL_ADMIN, *BRAND_WORDS_ADMIN, *PUBLISHING_STAFF, *API_KEYS_ADMIN,
        *WEBHOOKS_ADMIN,
        "campaigns.change_publishingsettings",
    ],
    Role.ACCOUNT_MANAGER: [
        "wagtailadmin.access_admin",
        "wagtailcore.add_collection", "wagtailcore.change_collection",
        *CHANNEL_ADMIN, *BRAND_WORDS_ADMIN, *PUBLISHING_STAFF, *API_KEYS_ADMIN,
        *WEBHOOKS_ADMIN,
    ],
    Role.EDITOR: ["wagtailadmin.access_admin", "campaigns.view_channel",
                  "approvals.view_brandterm"],
    Role.SENSITIVITY_REVIEWER: ["wagtailadmin.access_admin", "campaigns.view_channel",
                                "approvals.view_brandterm"],
}

# Page permission types on the client's campaigns index (and so on every campaign below it).
PAGE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENCY_ADMIN: ["add", "change", "publish", "bulk_delete", "lock", "unlock"],
    Role.ACCOUNT_MANAGER: ["add", "change", "publish", "lock", "unlock"],
    Role.EDITOR: ["add", "change"],
    # Reviewers see and moderate what their workflow task gives them; they do not author.
    Role.SENSITIVITY_REVIEWER: [],
}

_media = ["add", "change", "choose"]
# Image and document permissions on the client's root collection.
COLLECTION_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENCY_ADMIN: [f"{a}_{m}" for m in ("image", "document") for a in _media + ["delete"]],
    Role.ACCOUNT_MANAGER: [f"{a}_{m}" for m in ("image", "document") for a in _media + ["delete"]],
    Role.EDITOR: [f"{a}_{m}" for m in ("image", "document") for a in _media],
    Role.SENSITIVITY_REVIEWER: ["choose_image", "choose_document"],
}

# Roles that may manage a client's members in the portal.
MEMBER_MANAGERS = {Role.AGENCY_ADMIN, Role.ACCOUNT_MANAGER}
