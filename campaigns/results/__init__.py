"""Results: what each published post achieved (its network's counts, collected on a decaying
schedule), the channels' follower counts, and the dashboards and API that read them."""
