"""Conversations: what people say under a brand's posts (issue 19).

The inbox (``models``: items, notes, moderation actions, replies, poll cursors, the brand's
settings), polling each channel's notifications (``ingest``, the ``tasks`` job), what is done
with an item (``actions``: the classifier's automatic actions, staff's, replies exactly once),
its screens (``views``), and the moderation classifier (``moderation``) with its command.
"""
