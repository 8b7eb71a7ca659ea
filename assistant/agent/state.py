"""The graph's state: one `TypedDict`, plain JSON-able values (the checkpointer stores it).

Per-turn lists use `turn_list`: the turn's input sends `None` to start them over, nodes append.
Values without a reducer are replaced by whoever writes them; `scope` and `history` outlive a
turn, which is what lets a follow-up ("and the other pod?") reuse the previous target.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

Intent = Literal["diagnose", "previous_logs", "what_changed", "other_pod", "logs", "events",
                 "describe"]
Json = dict[str, Any]


def turn_list(old: list[Any] | None, new: list[Any] | None) -> list[Any]:
    """Append `new`; `None` (sent by each turn's input) empties the list."""
    if new is None:
        return []
    return [*(old or []), *new]


def recent(old: list[Any] | None, new: list[Any] | None) -> list[Any]:
    """Append, keeping the last 20 entries: a conversation's memory of earlier turns."""
    return [*(old or []), *(new or [])][-20:]


class Observation(TypedDict):
    """One read-only tool call and its (redacted, budgeted) text."""

    tool: str
    args: Json
    text: str
    status: str
    chosen_by: Literal["plan", "model"]


class State(TypedDict):
    request: Json  # the turn's `Request`, dumped
    intent: Intent
    scope: Json  # {"namespaces", "target", "note", "unknown", "pod"}; kept across turns
    observations: Annotated[list[Observation], turn_list]
    notes: Annotated[list[str], turn_list]
    steps: int  # investigation steps taken this turn
    tokens: int  # prompt tokens sent to the model this turn
    investigating: bool  # False once the model (or a limit) ends the investigation
    model_reachable: bool  # False once a model call failed this turn: no more calls
    diagnosis: Json  # the engine's, then the composed `Diagnosis`, dumped
    history: Annotated[list[Json], recent]  # one line per finished turn
