"""Roles inside a tenant, ordered by what they may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank

    @staticmethod
    def lowest(a: Role, b: Role) -> Role:
        return a if a.rank <= b.rank else b


_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2}
