"""Projects: what tenant admins manage."""
