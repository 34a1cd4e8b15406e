"""Conversations: what people say under a brand's posts (issue 19).

For now, the moderation classifier (``campaigns.conversations.moderation``) and its command; the
inbox, ingestion and replies join this app later.
"""
