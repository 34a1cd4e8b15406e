"""Outbound webhooks: brands register endpoints for events; signed, retried, logged."""
