from dataclasses import dataclass, field

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.strict_config import config_from_dict


@dataclass
class Inner:
    threshold: float = 0.5


@dataclass
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    weights: dict[str, float] = field(default_factory=dict)


def test_unknown_key_is_named_with_its_dotted_path():
    with pytest.raises(RecipeError, match=r"unknown key filters\.inner\.treshold"):
        config_from_dict(Outer, {"inner": {"treshold": 1}}, "filters")


def test_nested_tables_and_int_to_float():
    cfg = config_from_dict(Outer, {"inner": {"threshold": 1}, "weights": {"a": 2}}, "s")
    assert cfg.inner.threshold == 1.0 and isinstance(cfg.inner.threshold, float)
    assert cfg.weights == {"a": 2.0}


def test_wrong_type_is_an_error():
    with pytest.raises(RecipeError, match="s.name: expected str"):
        config_from_dict(Outer, {"name": 3}, "s")
