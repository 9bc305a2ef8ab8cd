"""Ops identity: WeCom web login into server-side sessions, grants as data, and the branch
scope every ops read and write is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from siyu.domain.access import (
    ALL_BRANCHES,
    Branch,
    BranchSpec,
    BranchTree,
    Grant,
    GrantSpec,
    Principal,
    Role,
    Staff,
    StaffSpec,
    identity_kind,
    principal_of,
)
from siyu.domain.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from siyu.domain.sessions import Session, new_session
from siyu.ports import BranchRepo, Clock, GrantRepo, LoginVerifier, SessionRepo, StaffRepo


@dataclass(frozen=True)
class LoginConfig:
    corp_id: str
    agent_id: int
    login_base: str  # https://login.work.weixin.qq.com (the simulator locally)
    redirect_uri: str  # this deployment's /ops/login/callback, on a WeCom trusted domain
    first_admin: str
    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True)
class Scope:
    """One caller's reach: what role they act with and which branches they may touch."""

    principal: Principal
    tree: BranchTree

    def allows(self, branch: str) -> bool:
        return self.principal.in_scope(self.tree, branch)

    def require(self, branch: str) -> None:
        self.principal.require_scope(self.tree, branch)

    def assign(self, branch: str) -> None:
        """A write that puts something in `branch`: the branch exists and is the caller's."""
        if branch and branch not in self.tree:
            raise InvalidInput("branch", f"no branch {branch}")
        self.require(branch)


class OpsAccess:
    def __init__(
        self,
        grants: GrantRepo,
        branches: BranchRepo,
        staff: StaffRepo,
        sessions: SessionRepo,
        login: LoginVerifier,
        clock: Clock,
        config: LoginConfig,
    ) -> None:
        self._grants = grants
        self._branches = branches
        self._staff = staff
        self._sessions = sessions
        self._login = login
        self._clock = clock
        self._config = config

    # -- who is calling ----------------------------------------------------------------

    def principal(self, identity: str) -> Principal:
        return principal_of(self._grants.get(identity), identity, self._config.first_admin)

    def scope(self, principal: Principal) -> Scope:
        return Scope(principal, BranchTree(self._branches.all()))

    def login_url(self, state: str) -> str:
        """98152: the link WeCom's login page answers with `redirect_uri?code=&state=`."""
        c = self._config
        if not c.redirect_uri:
            raise Conflict("SIYU_OPS_LOGIN_REDIRECT is not configured: WeCom login is off")
        query = {
            "login_type": "CorpApp",
            "appid": c.corp_id,
            "agentid": str(c.agent_id),
            "redirect_uri": c.redirect_uri,
            "state": state,
        }
        return f"{c.login_base}/wwlogin/sso/login?{urlencode(query)}"

    def sign_in(self, code: str) -> Session:
        """98176: the code names a member; members with a grant get a session."""
        who = self._login.login_identity(code)
        if not who.userid:
            raise Forbidden("only members of the corp may sign in to ops")
        self.principal(who.userid)  # refuses a member without an active grant
        now = self._clock.now()
        session = new_session(who.userid, now, self._config.lifetime)
        self._sessions.create(session)
        return session

    def session_principal(self, session_id: str) -> Principal:
        """The signed-in member; an idle, expired or revoked session is refused."""
        session = self._sessions.get(session_id)
        now = self._clock.now()
        if session is None or not session.alive(now, self._config.idle):
            raise Unauthorized("the session has ended; sign in again")
        if session.due_touch(now):
            self._sessions.touch(session_id, now)
        return self.principal(session.userid)

    def sign_out(self, session_id: str) -> None:
        self._sessions.delete(session_id)

    # -- grants, branches and staff (admins) ------------------------------------------

    def put_grant(self, identity: str, spec: GrantSpec, by: Principal) -> Grant:
        tree = BranchTree(self._branches.all())
        unknown = [b for b in spec.branches if b != ALL_BRANCHES and b not in tree]
        if unknown:
            raise InvalidInput("branches", f"no branch {', '.join(unknown)}")
        for branch in spec.branches:  # an admin grants only within their own reach
            if branch == ALL_BRANCHES and not by.unrestricted:
                raise Forbidden(f"{by.id} may not grant the whole bank")
            if branch != ALL_BRANCHES:
                by.require_scope(tree, branch)
        if identity == by.id and (spec.role is not Role.ADMIN or not spec.active):
            raise Conflict("an admin cannot take their own admin role away")
        grant = Grant(
            id=identity,
            kind=identity_kind(identity),
            updated_at=self._clock.now(),
            updated_by=by.id,
            **dict(spec),
        )
        self._grants.put(grant)
        return grant

    def grant(self, identity: str) -> Grant | None:
        return self._grants.get(identity)

    def grants(self) -> list[Grant]:
        return self._grants.all()

    def put_branch(self, branch_id: str, spec: BranchSpec) -> Branch:
        tree = BranchTree(self._branches.all())
        tree.check_parent(branch_id, spec)
        branch = Branch(id=branch_id, **dict(spec))
        self._branches.put(branch)
        return branch

    def branches(self) -> list[Branch]:
        return sorted(self._branches.all(), key=lambda b: b.id)

    def put_staff(self, userid: str, spec: StaffSpec, scope: Scope) -> Staff:
        scope.assign(spec.branch)
        current = self.staff_member(userid)
        if current is not None:
            scope.require(current.branch)  # moving staff out of another's branch: theirs
        staff = Staff(userid=userid, updated_at=self._clock.now(), **dict(spec))
        self._staff.put(staff)
        return staff

    def staff_member(self, userid: str) -> Staff | None:
        return self._staff.get_many([userid]).get(userid)

    def staff(self, scope: Scope) -> list[Staff]:
        return sorted(
            (s for s in self._staff.all() if scope.allows(s.branch)), key=lambda s: s.userid
        )

    def staff_branches(self, userids: list[str]) -> dict[str, str]:
        """Each staff member's branch ("" for one no branch claims)."""
        found = self._staff.get_many(userids)
        return {u: found[u].branch if u in found else "" for u in userids}
