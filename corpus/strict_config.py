"""Build nested dataclasses from TOML tables, rejecting unknown keys by their dotted name.

Modelled on torchtitan's TOML-era config manager: a typo in a recipe (`filters.min_wrods`) is an
error that names the key and lists the known ones, never a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from sciloom.corpus.errors import RecipeError

T = TypeVar("T")


def config_from_dict(cls: type[T], data: dict[str, Any] | None, where: str) -> T:
    """Instantiate dataclass `cls` from `data`; `where` is the dotted path used in errors."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a table, got {type(data).__name__} {data!r}"[:200])
    data = dict(data)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise RecipeError(f"unknown key {where}.{unknown[0]} (known keys: {known})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(hints.get(name, Any), value, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except RecipeError:
        raise
    except (TypeError, ValueError) as err:
        raise RecipeError(f"{where}: {err}") from err


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return config_from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except RecipeError:
                continue
        raise RecipeError(f"{where}: {value!r} does not fit {tp}")
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list):
            raise RecipeError(f"{where}: expected a list, got {value!r}"[:200])
        if origin is tuple:
            return tuple(value)
        (item,) = args or (Any,)
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a table, got {value!r}"[:200])
        _, vt = args or (Any, Any)
        return {k: _convert(vt, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp):
        raise RecipeError(f"{where}: expected {tp.__name__}, got {value!r}")
    if tp is int and isinstance(value, bool):
        raise RecipeError(f"{where}: expected int, got {value!r}")
    return value


def config_to_dict(obj: Any) -> Any:
    """Dataclass tree -> plain JSON-able dict (for manifests and hashing)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: config_to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [config_to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): config_to_dict(v) for k, v in obj.items()}
    if hasattr(obj, "__fspath__"):
        return str(obj)
    return obj
