"""Typed configs: every stage has a ``@dataclass`` next to its code; this module turns YAML files
and dotted ``--set a.b=1`` overrides into those dataclasses and back (checkpoints store ``asdict``)."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from xdancer.errors import InputError

T = TypeVar("T")


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from a plain dict, recursing into nested dataclass fields.

    Unknown keys are an error (a typo in a config must not be silently ignored).
    """
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping for {cls.__name__}, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown {cls.__name__} option(s): {sorted(unknown)}; known: {sorted(names)}")
    hints = _field_types(cls)
    kwargs = {}
    for key, value in data.items():
        ftype = hints[key]
        sub = _dataclass_in(ftype)
        if sub is not None and isinstance(value, dict):
            value = from_dict(sub, value)
        elif typing.get_origin(ftype) is tuple and isinstance(value, list):
            value = tuple(value)
        elif ftype is float and isinstance(value, (int, str)) and not isinstance(value, bool):
            # YAML 1.1 reads "3e-4" as a string; a float field takes it as the number it is.
            try:
                value = float(value)
            except ValueError:
                raise InputError(f"{cls.__name__}.{key} must be a number, got {value!r}") from None
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except InputError:
        raise
    except (ValueError, TypeError) as e:
        # A config's own validation (``__post_init__``) speaks of bad user input: one clear line.
        raise InputError(f"invalid {cls.__name__}: {e}") from e


def _dataclass_in(ftype: Any) -> type | None:
    if dataclasses.is_dataclass(ftype):
        return ftype
    if isinstance(ftype, types.UnionType) or typing.get_origin(ftype) is typing.Union:
        for arg in typing.get_args(ftype):
            if dataclasses.is_dataclass(arg):
                return arg
    return None


def to_dict(cfg: Any) -> dict[str, Any]:
    """``dataclasses.asdict`` with tuples as lists, so the result round-trips through JSON/YAML."""

    def fix(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v

    return fix(dataclasses.asdict(cfg))


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``["train.lr=3e-4", "model.n_layer=8"]`` to a nested dict (values parsed as YAML)."""
    for item in overrides:
        if "=" not in item:
            raise InputError(f"override {item!r} must look like key.sub=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise InputError(f"override {item!r}: {p!r} is not a section")
        node[parts[-1]] = yaml.safe_load(raw)
    return data


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Defaults of ``cls``, updated by a YAML file, updated by dotted overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise InputError(f"config {p} is not valid YAML: {e}") from e
        if not isinstance(loaded, dict):
            raise InputError(f"config {p} must be a mapping")
        data = loaded
    base = to_dict(cls())
    _deep_update(base, data)
    apply_overrides(base, overrides or [])
    return from_dict(cls, base)


def _deep_update(base: dict[str, Any], new: dict[str, Any]) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v
