"""A bench-only tenant app: 0001 creates a small table, 0002 adds a column and its index (the
additive migration ``bench/tenants_at_scale.py`` rolls out). Installed by bench/scale_settings.py
and by tests/tenants/test_rollout.py only."""
