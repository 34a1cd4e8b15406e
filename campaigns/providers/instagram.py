"""Instagram professional accounts, connected through Facebook Login: the accounts offered are
the person's Pages that have an Instagram professional account linked
(``instagram_business_account``); the channel's ``account_id`` is the Instagram user id, its
token the Page's token, and ``settings`` keeps the Page's id and name."""

from __future__ import annotations

from campaigns import connections
from campaigns.connections import Account, Tokens
from campaigns.providers.facebook import FacebookProvider


class InstagramProvider(FacebookProvider):
    network = "instagram"
    label = "Instagram"
    scopes = ("pages_show_list", "pages_read_engagement", "business_management",
              "instagram_basic", "instagram_content_publish", "instagram_manage_comments")

    def accounts(self, tokens: Tokens) -> list[Account]:
        me, pages = self._pages(tokens)
        found = []
        for page in pages:
            linked = page.get("instagram_business_account")
            if not linked or not page.get("access_token"):
                continue
            username = linked.get("username") or linked["id"]
            found.append(Account(id=str(linked["id"]), name=f"@{username}",
                                 handle=f"@{username}", access_token=page["access_token"],
                                 settings={"user_id": str(me["id"]), "page_id": str(page["id"]),
                                           "page_name": page["name"]}))
        return found


connections.register(InstagramProvider())
