"""What the remote-work pages and endpoints run with: the database's unit of work, the clock,
the head list, the smart-work centres, the idle timeout and the login service's keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Connection

from console.viewer import EMPLOYEE, Grant
from remote_work.login_keys import LoginKeys
from remote_work.plans import DepartmentHeads, headed_by

__all__ = ["DEPARTMENT_HEAD", "RemoteWork"]

DEPARTMENT_HEAD = "department_head"


@dataclass(frozen=True)
class RemoteWork:
    unit_of_work: Callable[[], AbstractContextManager[Connection]]
    clock: Callable[[], float]
    heads: DepartmentHeads
    centres: Mapping[str, str]
    """Smart-work centre id -> its name (스마트워크센터)."""
    idle_timeout_s: int
    login_issuer: str
    client_id: str
    login_keys: LoginKeys

    @property
    def centre_ids(self) -> frozenset[str]:
        return frozenset(self.centres)

    async def roles(self, employee_number: str) -> Sequence[Grant]:
        """Everyone is an employee here; a head of a listed department is its head."""
        heads = [Grant(DEPARTMENT_HEAD, d) for d in headed_by(self.heads, employee_number)]
        return [Grant(EMPLOYEE), *heads]
