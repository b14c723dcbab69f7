"""Who is looking at a console page: the signed-in person and the roles they hold.

Grants are the HR side's business (the issuer database); each app learns them through its
`RoleSource`, an async callable from an employee number to that person's grants.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

__all__ = ["EMPLOYEE", "ROLES", "Grant", "RoleSource", "Viewer"]

EMPLOYEE = "employee"
"""Every active employee in HR data holds it implicitly (own data only)."""
ROLES = ("hr_admin", "hr_officer", "department_head", "gate_operator", "login_admin", EMPLOYEE)
"""The roles the consoles know, most powerful first."""


@dataclass(frozen=True, slots=True)
class Grant:
    """A role, limited to a scope (agency, department, gate) or, with `scope=None`, unlimited."""

    role: str
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person: employee number, name (from the ID token) and grants."""

    employee_number: str
    name: str
    grants: tuple[Grant, ...]

    def has(self, role: str, scope: str | None = None) -> bool:
        """A grant of `role` covering `scope` (an unscoped grant covers every scope); asked
        without a scope, any grant of that role counts."""
        return any(
            g.role == role and (scope is None or g.scope is None or g.scope == scope)
            for g in self.grants
        )

    def scopes(self, role: str) -> frozenset[str | None]:
        """The scopes of the person's grants of `role` (`None` in it: every scope)."""
        return frozenset(g.scope for g in self.grants if g.role == role)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    @property
    def actor(self) -> str:
        """What audit entries record as the person who acted."""
        return f"console:{self.employee_number}"


RoleSource = Callable[[str], Awaitable[Sequence[Grant]]]
"""employee_number -> that person's grants (re-read on every request, or cached briefly)."""
