"""Operator views of all tenants."""
