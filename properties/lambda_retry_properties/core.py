"""Properties, written once and checked by both engines.

A property has an ID (``<MODE>-<K><NN>``, K from its kind), a kind, an English
statement (its docstring), a source tag, and a predicate:

* ``always`` (S): holds in every reachable world;
* ``step`` (T): holds for every step ``(before, move, after)``;
* ``sometimes`` (R): some reachable world satisfies it (a reachability witness);
* ``settles`` (L): every maximal run ends in a world that satisfies it, and no run
  goes on forever (the state graph is acyclic).

``applies(config)`` says for which configurations a property is meaningful (a
witness of "an event reaches its DLQ" needs a DLQ).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from lambda_retry.spec import Action, ModeSpec, Rule


class Kind(StrEnum):
    ALWAYS = "always"
    STEP = "step"
    SOMETIMES = "sometimes"
    SETTLES = "settles"


LETTER = {Kind.ALWAYS: "S", Kind.STEP: "T", Kind.SOMETIMES: "R", Kind.SETTLES: "L"}


class Move(NamedTuple):
    """What a step property sees of the action: the rule, its parameter, the items it moves."""

    rule: Rule
    param: Any
    units: tuple[int, ...]

    @property
    def event(self) -> str:
        return self.rule.event


def move_of(spec: ModeSpec, action: Action) -> Move:
    r = spec.rules[action[0]]
    return Move(r, action[1], r.units(action[1]))


def everywhere(config: Any) -> bool:
    return True


@dataclass(frozen=True)
class Property:
    id: str
    kind: Kind
    name: str
    statement: str
    source: str
    holds: Callable[..., bool]
    applies: Callable[[Any], bool] = everywhere


class PropertySet:
    """The properties of one mode, in declaration order."""

    def __init__(self, spec: ModeSpec, prefix: str) -> None:
        self.spec = spec
        self.prefix = prefix
        self._props: list[Property] = []

    def __iter__(self) -> Iterator[Property]:
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)

    def by_id(self, prop_id: str) -> Property:
        for p in self._props:
            if p.id == prop_id:
                return p
        raise KeyError(prop_id)

    def of_kind(self, kind: Kind) -> list[Property]:
        return [p for p in self._props if p.kind is kind]

    def _add(
        self, kind: Kind, number: int, source: str, applies: Callable[[Any], bool]
    ) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
        def register(fn: Callable[..., bool]) -> Callable[..., bool]:
            statement = " ".join((fn.__doc__ or "").split())
            if not statement:
                raise ValueError(f"property {fn.__name__} needs a docstring: its English statement")
            prop_id = f"{self.prefix}-{LETTER[kind]}{number:02d}"
            if any(p.id == prop_id for p in self._props):
                raise ValueError(f"duplicate property id {prop_id}")
            self._props.append(Property(prop_id, kind, fn.__name__, statement, source, fn, applies))
            return fn

        return register

    def always(self, number: int, *, source: str, applies: Callable[[Any], bool] = everywhere) -> Any:
        return self._add(Kind.ALWAYS, number, source, applies)

    def step(self, number: int, *, source: str, applies: Callable[[Any], bool] = everywhere) -> Any:
        return self._add(Kind.STEP, number, source, applies)

    def sometimes(self, number: int, *, source: str, applies: Callable[[Any], bool] = everywhere) -> Any:
        return self._add(Kind.SOMETIMES, number, source, applies)

    def settles(self, number: int, *, source: str, applies: Callable[[Any], bool] = everywhere) -> Any:
        return self._add(Kind.SETTLES, number, source, applies)


def changed(before: Any, after: Any) -> Iterator[tuple[int, Any, Any]]:
    """(index, before, after) for every item a step changed."""
    for k, (b, a) in enumerate(zip(before.items, after.items, strict=True)):
        if b != a:
            yield k, b, a
