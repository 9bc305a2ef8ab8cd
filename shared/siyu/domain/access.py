"""Who may do what in the ops API: roles, grants, and the branch tree that scopes them.

A member (a WeCom userid, signed in through WeCom's web login) or a service identity (a
Google service account calling with an ID token) acts with the grant stored for it. Grants
are data, changed by admins; the first admin comes from the deployment's settings so that
somebody can grant the rest."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator

from siyu.domain.errors import Forbidden, InvalidInput
from siyu.domain.model import Model

BRANCH_PATTERN = r"^[a-z0-9_-]{1,32}$"
ALL_BRANCHES = "*"  # a grant over the whole bank, including what belongs to no branch
BranchId = Annotated[str, Field(pattern=BRANCH_PATTERN)]
# What groups, channels and campaigns carry: their branch, "" for the head office (none).
BranchRef = Annotated[
    str, Field(pattern=r"^([a-z0-9_-]{1,32})?$", description="the branch it belongs to")
]


class Role(StrEnum):
    VIEWER = "viewer"  # reads everything in scope
    OPERATOR = "operator"  # groups, channels, campaigns, tag rules, follow-ups, imports
    ADMIN = "admin"  # roles, branches, staff, transfers, calendar, settings

    @property
    def rank(self) -> int:
        return [Role.VIEWER, Role.OPERATOR, Role.ADMIN].index(self)

    def covers(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class BranchSpec(Model):
    """PUT /ops/branches/{id}: a 分行 (no parent) or a 支行 under one."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    parent: BranchId | None = None


class Branch(BranchSpec):
    id: BranchId


class BranchTree:
    """The branches by id; a grant on a branch covers the branches under it."""

    def __init__(self, branches: Iterable[Branch]) -> None:
        self._by_id = {b.id: b for b in branches}

    def __contains__(self, branch_id: str) -> bool:
        return branch_id in self._by_id

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def lineage(self, branch_id: str) -> list[str]:
        """The branch and its ancestors, nearest first (a cycle stops the walk)."""
        seen: list[str] = []
        current: str | None = branch_id
        while current and current not in seen:
            seen.append(current)
            found = self._by_id.get(current)
            current = found.parent if found else None
        return seen

    def check_parent(self, branch_id: str, spec: BranchSpec) -> None:
        """A parent must exist, and a branch cannot sit under itself or its descendants."""
        if spec.parent is None:
            return
        if spec.parent not in self:
            raise InvalidInput("parent", f"no branch {spec.parent}")
        if branch_id in self.lineage(spec.parent):
            raise InvalidInput("parent", f"{spec.parent} is {branch_id} or under it")


class GrantSpec(Model):
    """PUT /ops/members/{userid}: the role and the branches it applies to."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    branches: list[Annotated[str, Field(pattern=rf"{BRANCH_PATTERN}|^\*$")]] = Field(
        min_length=1, max_length=50, description='branch ids, or ["*"] for the whole bank'
    )
    name: str = Field("", max_length=60, description="shown in the audit log")
    active: bool = Field(True, description="false: the member can no longer sign in or call")

    @field_validator("branches")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if ALL_BRANCHES in value and len(value) > 1:
            raise ValueError('"*" already covers every branch')
        return sorted(set(value))


class Grant(GrantSpec):
    id: str  # a WeCom userid, or a service account's email
    kind: Literal["member", "service"]
    updated_at: datetime
    updated_by: str


def identity_kind(identity: str) -> Literal["member", "service"]:
    """Service accounts are named by email; WeCom userids never hold an `@`."""
    return "service" if "@" in identity else "member"


class Principal(Model):
    """The caller of one request, as its grant says."""

    id: str
    kind: Literal["member", "service"]
    role: Role
    branches: frozenset[str]

    @property
    def unrestricted(self) -> bool:
        return ALL_BRANCHES in self.branches

    def require(self, needed: Role) -> None:
        if not self.role.covers(needed):
            raise Forbidden(f"{self.id} is {self.role}; this needs {needed}")

    def in_scope(self, tree: BranchTree, branch: str) -> bool:
        """Whether the branch (or, for "" = no branch, the head office) is the caller's."""
        if self.unrestricted:
            return True
        return bool(branch) and any(b in self.branches for b in tree.lineage(branch))

    def require_scope(self, tree: BranchTree, branch: str) -> None:
        if not self.in_scope(tree, branch):
            where = f"branch {branch}" if branch else "the head office (no branch)"
            raise Forbidden(f"{self.id} may not act on {where}")


def principal_of(grant: Grant | None, identity: str, first_admin: str) -> Principal:
    """The caller's principal; no grant (or an inactive one) is refused. The first admin
    without a stored grant is admin over everything, so a fresh deployment can be run."""
    if grant is None and identity and identity == first_admin:
        return Principal(
            id=identity,
            kind=identity_kind(identity),
            role=Role.ADMIN,
            branches=frozenset({ALL_BRANCHES}),
        )
    if grant is None or not grant.active:
        raise Forbidden(f"{identity} has no ops grant")
    return Principal(
        id=grant.id, kind=grant.kind, role=grant.role, branches=frozenset(grant.branches)
    )


class StaffSpec(Model):
    """PUT /ops/staff/{userid}: the branch a customer manager works for."""

    model_config = ConfigDict(extra="forbid")

    branch: BranchId
    name: str = Field("", max_length=60)


class Staff(StaffSpec):
    userid: str
    updated_at: datetime
