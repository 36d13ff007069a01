"""The handling state machine of ledger items (受理 → 交办 → 办结 / 上报 / 答复 → 评价).

Pure data: which actions each status allows and where they lead. The writes
that apply a transition live in ``resolvers.ledger_items``.
"""

from __future__ import annotations

from db.ledgers import Action, Satisfaction, Status

S = Status

# action → the statuses it may start from
ALLOWED_FROM: dict[Action, frozenset[Status]] = {
    Action.ASSIGN: frozenset({S.RECEIVED, S.ASSIGNED, S.ESCALATED}),
    Action.RESOLVE_ON_THE_SPOT: frozenset({S.RECEIVED, S.ASSIGNED}),
    Action.MAKE_PLAN: frozenset({S.ASSIGNED}),
    Action.COMPLETE: frozenset({S.PLANNED}),
    Action.ESCALATE: frozenset({S.RECEIVED, S.ASSIGNED, S.PLANNED}),
    Action.DECLINE: frozenset({S.RECEIVED, S.ASSIGNED, S.PLANNED, S.ESCALATED}),
    Action.RATE: frozenset({S.RESOLVED, S.DECLINED}),
}

_TARGET: dict[Action, Status] = {
    Action.ASSIGN: S.ASSIGNED,
    Action.RESOLVE_ON_THE_SPOT: S.RESOLVED,
    Action.MAKE_PLAN: S.PLANNED,
    Action.COMPLETE: S.RESOLVED,
    Action.ESCALATE: S.ESCALATED,
    Action.DECLINE: S.DECLINED,
}


class IllegalTransition(Exception):
    def __init__(self, action: Action, status: Status, why: str = "") -> None:
        message = f"cannot {action.value.replace('_', ' ')} an item that is {status.value}"
        super().__init__(message + (f": {why}" if why else ""))


def next_status(
    action: Action,
    current: Status,
    *,
    satisfaction: Satisfaction | None = None,
    already_rated: bool = False,
    has_responsible: bool = True,
) -> Status:
    """Where ``action`` takes an item at ``current``; raises IllegalTransition."""
    if current not in ALLOWED_FROM[action]:
        raise IllegalTransition(action, current)
    if action is Action.RATE:
        if already_rated:
            raise IllegalTransition(action, current, "it was already rated")
        if satisfaction is not Satisfaction.DISSATISFIED:
            return current
        # A dissatisfied household reopens the item: back to its responsible cadre,
        # or to its first-contact owner when it was solved before being assigned.
        return S.ASSIGNED if has_responsible else S.RECEIVED
    return _TARGET[action]
