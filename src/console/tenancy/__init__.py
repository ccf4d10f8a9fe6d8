"""Tenants, memberships, roles, invitations; the tenant-scope dependency."""
