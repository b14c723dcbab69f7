"""Mass actions: suspend or revoke every live credential of an agency, a department, or signed by
one issuer key (key compromise), in batches.

Each batch is its own transaction (lock up to `batch_size` matching credentials, change them,
republish their lists, audit), so a long run never holds the database and an interrupted run
resumes by simply running again: what is already changed no longer matches. Key compromise also
queues a reissue offer for each holder whose credential was active.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import AuthError, HrError, IssuerCode, LifecycleError
from issuer.hr.applications import file_preapproved_application
from issuer.keys.signing import IssuerKeyring
from issuer.lifecycle.state_changes import REVOCATION_REASONS, SUSPENSION_REASONS, change_states
from issuer.models import Credential, Employee
from issuer.status.publication import StatusListPublisher
from schemas.lifecycle_api import MASS_ACTION_BATCH_SIZE

__all__ = ["MassPlan", "MassResult", "MassScope", "plan_mass_action", "run_mass_action"]

ACTIONS = {"suspend": ("suspended", ("active",)), "revoke": ("revoked", ("active", "suspended"))}


@dataclass(frozen=True, slots=True)
class MassScope:
    """Exactly one of: an agency, a department, the credentials signed by one key; for an
    agency's HR officer, only within `within_agency` (its employees and those dispatched to it).
    """

    agency_code: str | None = None
    department_code: str | None = None
    kid: str | None = None
    within_agency: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        agency_code: str | None = None,
        department_code: str | None = None,
        kid: str | None = None,
    ) -> MassScope:
        given = [v for v in (agency_code, department_code, kid) if v]
        if len(given) != 1:
            raise LifecycleError(
                IssuerCode.invalid_scope, "give exactly one of an agency or a department"
            )
        return cls(agency_code or None, department_code or None, kid or None)

    @property
    def label(self) -> str:
        if self.agency_code:
            return f"agency:{self.agency_code}"
        if self.department_code:
            return f"department:{self.department_code}"
        return f"kid:{self.kid}"

    def condition(self) -> ColumnElement[bool]:
        if self.agency_code:
            match = Employee.agency_code == self.agency_code
        elif self.department_code:
            match = Employee.department_code == self.department_code
        else:
            match = Credential.kid == self.kid
        if self.within_agency is None:
            return match
        return match & (
            (Employee.agency_code == self.within_agency)
            | (Employee.dispatched_to_agency_code == self.within_agency)
        )

    def for_principal(self, principal: Principal) -> MassScope:
        """This scope as `principal` may use it: whole for HR administrators; an HR officer's
        kept within their agency (another agency or a key is refused); others refused."""
        if principal.role is Role.hr_admin:
            return self
        if principal.role is not Role.hr_officer or principal.agency_code is None:
            raise AuthError(IssuerCode.forbidden_role, "only HR runs mass actions")
        if self.kid is not None or self.agency_code not in (None, principal.agency_code):
            raise AuthError(IssuerCode.forbidden_scope, "outside the officer's agency")
        return replace(self, within_agency=principal.agency_code)


@dataclass(frozen=True, slots=True)
class MassPlan:
    scope: MassScope
    action: str
    reason: str
    matched: int
    actor: str
    role: str
    reoffer: bool = False


@dataclass(slots=True)
class MassResult:
    job: str
    changed: int = 0
    batches: int = 0
    offers: int = 0


def _matching(scope: MassScope, states: tuple[str, ...]) -> ColumnElement[bool]:
    return scope.condition() & Credential.state.in_(states)


def plan_mass_action(
    session: Session,
    principal: Principal,
    scope: MassScope,
    *,
    action: str,
    reason: str,
    reoffer: bool = False,
) -> MassPlan:
    """Check the request and count what it would change (the dry run's answer); an HR
    officer's scope is narrowed to their agency (`MassScope.for_principal`)."""
    scope = scope.for_principal(principal)
    if action not in ACTIONS:
        raise LifecycleError(IssuerCode.invalid_request, "action must be suspend or revoke")
    allowed = SUSPENSION_REASONS if action == "suspend" else (*REVOCATION_REASONS, "key_compromise")
    if reason not in allowed or (reason == "key_compromise" and scope.kid is None):
        raise LifecycleError(
            IssuerCode.invalid_reason, f"reason must be one of: {', '.join(allowed)}"
        )
    matched = (
        session.scalar(
            select(func.count())
            .select_from(Credential)
            .join(Employee, Employee.id == Credential.employee_id)
            .where(_matching(scope, ACTIONS[action][1]))
        )
        or 0
    )
    return MassPlan(scope, action, reason, matched, principal.actor, principal.role.value, reoffer)


def _reoffer(
    session: Session,
    *,
    credential: Credential,
    employee: Employee,
    plan: MassPlan,
    config: IssuerConfig,
    now: datetime,
) -> bool:
    if employee.employment_status != "active":
        return False
    try:
        record = file_preapproved_application(
            session,
            employee,
            previous=credential,
            actor=plan.actor,
            role=plan.role,
            comment=f"reissue: {plan.reason}",
            config=config,
            now=now,
        )
    except HrError:
        return False  # an open application will issue with the current key
    return record is not None


def _lock_batch(
    session: Session, scope: MassScope, states: tuple[str, ...], after: int, size: int
) -> list[tuple[Credential, Employee]]:
    """The next `size` matching credentials (with their employees) in employee order after
    employee `after`, locked.

    Found by their ids first and then loaded: only the ids are sorted, not whole rows, and each
    batch starts where the last one ended instead of passing over all that were changed before
    it. Suspending an agency of 25,870 among 300,000 employees took PostgreSQL 11.6 s of CPU
    that way, 2.9 s this way, and the old cost grew with the population (bench.scale,
    mass_suspend_100k_s <= 60 s). The lock re-checks the match, so a credential changed
    meanwhile by someone else is left alone.
    """
    batch = (
        select(Credential.id)
        .join(Employee, Employee.id == Credential.employee_id)
        .where(_matching(scope, states), Employee.id > after)
        .order_by(Employee.id)
        .limit(size)
    )
    return [
        (c, e)
        for c, e in session.execute(
            select(Credential, Employee)
            .join(Employee, Employee.id == Credential.employee_id)
            .where(Credential.id.in_(batch.scalar_subquery()), _matching(scope, states))
            .order_by(Employee.id)
            .with_for_update(of=Credential)
            .execution_options(populate_existing=True)
        ).all()
    ]


def run_mass_action(
    plan: MassPlan,
    *,
    unit_of_work: Callable[[], AbstractContextManager[Session]],
    publisher: StatusListPublisher,
    keyring: Callable[[], IssuerKeyring],
    clock: Callable[[], datetime],
    batch_size: int = MASS_ACTION_BATCH_SIZE,
    comment: str = "",
    config: IssuerConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> MassResult:
    """Change every matching credential, one transaction per batch; safe to run again."""
    new_state, states = ACTIONS[plan.action]
    result = MassResult(job=uuid.uuid4().hex[:12])
    after = 0  # the last employee of the last batch
    while True:
        with unit_of_work() as session:
            now = clock()
            targets = _lock_batch(session, plan.scope, states, after, batch_size)
            if not targets and after:
                after = 0  # once more from the start, for what came to match meanwhile
                continue
            if not targets:
                append_audit(
                    session,
                    actor=plan.actor,
                    role=plan.role,
                    action=f"credential.mass_{plan.action}",
                    subject=plan.scope.label,
                    now=now,
                    detail={
                        "job": result.job,
                        "reason": plan.reason,
                        "changed": result.changed,
                        "batches": result.batches,
                    },
                )
                break
            after = targets[-1][1].id
            was_active = [(c, e) for c, e in targets if c.state == "active"]
            detail = {"job": result.job, **({"comment": comment[:500]} if comment else {})}
            change_states(
                session,
                targets,
                new_state=new_state,
                reason=plan.reason,
                actor=plan.actor,
                role=plan.role,
                publisher=publisher,
                keyring=keyring(),
                now=now,
                detail=detail,
            )
            if plan.reoffer and config is not None:
                result.offers += sum(
                    _reoffer(session, credential=c, employee=e, plan=plan, config=config, now=now)
                    for c, e in was_active
                )
        result.changed += len(targets)
        result.batches += 1
        if progress is not None:
            progress(len(targets))
    return result
