"""Users, identities, server-side sessions and API tokens."""
