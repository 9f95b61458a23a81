"""The interface every backend (embedded engine, REST client) implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Iterable, List, Sequence, Union

from .errors import CQLError
from .plan import Create, Delete, Find, Plan, Update, requests_of
from .result import Result


class Backend(ABC):
    """Runs Plans. Knows Plans and REST JSON, never CQL text or Lark trees."""

    #: a short phrase for the shell's banner, e.g. "transient in-memory database"
    description: str = ""

    def run(self, plan: Plan) -> Result:
        """Execute one plan; a returned write has been committed."""
        if isinstance(plan, Find):
            return self.find(plan)
        if isinstance(plan, Create):
            return self.insert(plan)
        if isinstance(plan, Update):
            return self.update(plan)
        if isinstance(plan, Delete):
            return self.delete(plan)
        from .errors import InterfaceError
        raise InterfaceError(f"not a plan: {plan!r}")

    def run_each(self, plans: Sequence[Plan]) -> List[Union[Result, CQLError]]:
        """Run every plan on its own: a plan that fails gives its CQLError in its
        place and does not stop the others (``Object.save_all``, ``Model.put_multi``).
        A backend may send them together (the REST client uses /batch)."""
        out: List[Union[Result, CQLError]] = []
        for plan in plans:
            try:
                out.append(self.run(plan))
            except CQLError as exc:
                out.append(exc)
        return out

    @abstractmethod
    def find(self, plan: Find) -> Result: ...

    @abstractmethod
    def insert(self, plan: Create) -> Result: ...

    @abstractmethod
    def update(self, plan: Update) -> Result: ...

    @abstractmethod
    def delete(self, plan: Delete) -> Result: ...

    def explain(self, plan: Plan) -> List[dict]:
        """The requests this backend would make for ``plan`` (with its own notes,
        e.g. the index used). Defaults to the reference lowering."""
        return requests_of(plan)

    @abstractmethod
    def schema(self) -> Dict[str, Dict[str, str]]:
        """{class name: {field name: type name}} as far as the backend knows."""

    def close(self) -> None:
        pass


def refuse_unknown_options(options: Dict[str, Any], known: Iterable[str], target: str) -> None:
    """An option a backend does not take is an error, never silently ignored
    (``synchronus='FULL'`` would leave durability at its default), with the
    closest known name as a suggestion. None values count as not given."""
    unknown = sorted(k for k, v in options.items() if v is not None)
    if not unknown:
        return
    import difflib
    from .errors import InvalidOption
    names = sorted(known)
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    raise InvalidOption(f"unknown option{'s' if len(unknown) > 1 else ''} for {target}: {', '.join(parts)}; "
                        f"the options are {', '.join(names)}")


def option(name: str, value: Any, kind: str, minimum: float = 0, choices: Iterable[str] = (),
           maximum: float = 1e9) -> Any:
    """An option's value checked against its kind, so that a wrong one is an
    error naming it (never a TypeError deep inside): "text" (str or None),
    "bool", "number" (at least ``minimum``; "positive": above 0), "whole" (an
    int at least ``minimum``), numbers at most ``maximum`` (a billion seconds
    is 31 years). ``choices``: the texts allowed (any case)."""
    from .errors import InvalidOption, describe
    t = type(value)
    if value is None:
        return None
    if kind == "text" and issubclass(t, str):
        text = str.__str__(value)
        allowed = tuple(choices)
        if not allowed or text.upper() in allowed:
            return text
        raise InvalidOption(f"option {name} must be one of {', '.join(allowed)}, got {describe(text)}")
    if kind == "bool" and t is bool:
        return value
    if kind in ("number", "positive", "whole") and t in (int, float) and minimum <= value <= maximum:
        if (kind != "whole" or t is int) and (kind != "positive" or value > 0):
            return value
    wanted = {"text": "text", "bool": "True or False", "number": f"a number from {minimum:g} to {maximum:g}",
              "positive": f"a number above 0 and at most {maximum:g}",
              "whole": f"a whole number from {minimum:g} to {maximum:g}"}[kind]
    raise InvalidOption(f"option {name} must be {wanted}, got {describe(value)}")
