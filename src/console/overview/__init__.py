"""Overview: a tenant's numbers at a glance (the dashboard's Home screen)."""
