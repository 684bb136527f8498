"""Every error Bifrost shows a person comes from the message catalog (`bifrost.i18n`), so that
it can be said in the reader's language: no BifrostError (of any subclass) or ApiError is made
from a string literal or an f-string, but with `said(...)` and a message id."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[1] / "src/bifrost"
MESSAGE_AT = {"BifrostError": 0, "ApiError": 2}
"""The root error classes, and where their constructor takes the message."""


def _name(node: ast.expr) -> str | None:
    """`UsageError` for `UsageError` and `errors.UsageError`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def error_classes(trees: Iterable[ast.Module]) -> dict[str, int]:
    """Every class that derives from a root error class, by name, with where its constructor
    takes the message (a subclass with its own `__init__` is checked where it calls super)."""
    classes = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    found = dict(MESSAGE_AT)
    grew = True
    while grew:
        grew = False
        for node in classes:
            bases = [found[name] for base in node.bases if (name := _name(base)) in found]
            if node.name not in found and bases:
                found[node.name] = -1 if _has_init(node) else bases[0]
                grew = True
    return found


def _has_init(node: ast.ClassDef) -> bool:
    return any(isinstance(item, ast.FunctionDef) and item.name == "__init__" for item in node.body)


def _is_text(node: ast.expr) -> bool:
    """A message written in place: `"…"`, `f"…"`, `"…" + x`, `"…".format(…)`."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _is_text(node.func.value)
    return False


def _message(call: ast.Call, at: int) -> ast.expr | None:
    if 0 <= at < len(call.args):
        return call.args[at]
    return next((k.value for k in call.keywords if k.arg == "message"), None)


def written_in_place(source: str, classes: dict[str, int]) -> list[int]:
    """The lines of `source` that make an error of `classes` from a message written in place:
    a call of the class, or a `super().__init__` in one with its own constructor."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and classes.get(node.name) == -1:
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and _is_super_init(call):
                    message = _message(call, 0)
                    if message is not None and _is_text(message):
                        lines.append(call.lineno)
        elif isinstance(node, ast.Call) and (at := classes.get(_name(node.func) or "")) is not None:
            message = _message(node, at)
            if message is not None and _is_text(message):
                lines.append(node.lineno)
    return sorted(set(lines))


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _name(func.value.func) == "super"
    )


def _modules() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(SOURCE.rglob("*.py"))}


def test_no_error_is_made_from_a_message_written_in_place() -> None:
    modules = _modules()
    classes = error_classes(ast.parse(source) for source in modules.values())
    assert {"UsageError", "ServiceError", "ProviderError", "NotFound"} <= classes.keys()
    found = [
        f"{path.relative_to(SOURCE.parents[1])}:{line}"
        for path, source in modules.items()
        for line in written_in_place(source, classes)
    ]
    assert not found, "use X.said('area.what', …) and a catalog message at:\n" + "\n".join(found)


BAD = """
from bifrost.errors import UsageError
from bifrost.api.errors import ApiError


class Refused(UsageError):
    pass


class Worded(UsageError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is refused")


def check(name: str, count: int) -> None:
    if not name:
        raise UsageError("give a name")
    if count > 3:
        raise Refused(f"{name}: at most 3")
    if count < 0:
        raise ApiError(422, "validation_error", "count: " + str(count))
    raise UsageError(message="{} is wrong".format(name))
"""
GOOD = """
from bifrost.errors import UsageError
from bifrost.api.errors import ApiError


def check(name: str, problem: UsageError) -> None:
    if not name:
        raise UsageError.said("usage.no_name")
    raise ApiError.wrapping(422, "validation_error", problem)
"""


@pytest.mark.parametrize(("source", "lines"), [(BAD, [12, 17, 19, 21, 22]), (GOOD, [])])
def test_the_check_finds_messages_written_in_place(source: str, lines: list[int]) -> None:
    classes = error_classes([ast.parse(_modules()[SOURCE / "errors.py"]), ast.parse(source)])
    assert written_in_place(source, classes) == lines
