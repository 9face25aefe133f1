"""Column rules of a mapping: one contract column's source and options, checked.

Shared by the ``[columns]``, ``[treatments.<name>]`` and ``[episodes.<n>]`` sections of a
mapping (:mod:`~dah_outcomes.io.mapping`, :mod:`~dah_outcomes.io.wide_episodes`): each key's
type is checked here, and a wrong one is named with its fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io._values import EPOCHS, OFFSET_UNITS, UNITS, ColumnRule
from dah_outcomes.io._vocabulary import CONTRACT, match_key
from dah_outcomes.schema import TABLES

__all__ = [
    "DECIMALS",
    "REPEAT_FIELDS",
    "RULE_KEYS",
    "check_date_format",
    "parse_repeat_episodes",
    "parse_rule",
]

#: Options a column rule may give.
RULE_KEYS = frozenset(
    {
        "source",
        "values",
        "format",
        "offset_from",
        "offset_unit",
        "decimal",
        "unit",
        "scale",
        "value",
    }
)
#: Decimal marks a mapping may declare.
DECIMALS = (".", ",")
#: strftime directives a date format may use (the rest, e.g. ``%Q``, are typos)
_DIRECTIVES = set("aAbBcdefgGhHIjmMpSuUVwWxXyYzZ%")
_DAY_DIRECTIVES = set("dje")


def check_date_format(fmt: Any, where: str, partial: Any) -> None:
    """A date format: a strftime pattern with known directives (or a day-count epoch).

    Parameters
    ----------
    fmt : object
        The format the mapping gives.
    where : str
        The key, named in messages.
    partial : object
        The mapping's ``partial_dates``: a format without a day needs one.

    Raises
    ------
    ArgumentError
        On an empty format, an unknown directive or a format without a day.
    """
    if not isinstance(fmt, str) or not fmt.strip():
        raise ArgumentError(
            f'{where} must be a date format such as "%d/%m/%Y" (or one of '
            f"{sorted(EPOCHS)} for day counts), got {fmt!r}"
        )
    if fmt in EPOCHS:
        return
    directives = re.findall(r"%(.)", fmt.replace("%%", ""))
    bad = [f"%{d}" for d in directives if d not in _DIRECTIVES]
    if bad or not directives:
        raise ArgumentError(
            f"{where} {fmt!r}: "
            + (f"unknown directive(s) {bad}" if bad else "no directive")
            + ' (use e.g. "%d/%m/%Y": %d day, %m month, %Y year)'
        )
    if not _DAY_DIRECTIVES & set(directives) and partial in (None, "reject"):
        raise ArgumentError(
            f"{where} {fmt!r} has no day: its dates are partial; declare "
            'partial_dates = "first" or "middle" to read them, or give whole dates'
        )


def parse_rule(name: str, spec: Any, where: str = "[columns]") -> ColumnRule:
    """One column rule of a mapping, checked: a source name, a list of names, or options.

    Parameters
    ----------
    name : str
        The contract column.
    spec : object
        What the mapping gives for it.
    where : str, default "[columns]"
        The mapping section, named in messages.

    Returns
    -------
    ColumnRule

    Raises
    ------
    ArgumentError
        On an unknown column or option, or an option of the wrong type (naming the fix).
    """
    if name not in CONTRACT:
        raise ArgumentError(
            f"{where} {name!r} is not a contract column; valid names are {sorted(CONTRACT)}"
        )
    if isinstance(spec, str):
        return ColumnRule(name, sources=(spec,))
    if isinstance(spec, list) and spec and all(isinstance(s, str) for s in spec):
        return ColumnRule(name, sources=tuple(spec))
    if not isinstance(spec, dict):
        raise ArgumentError(
            f"{where} {name} must be a source column name, a list of names "
            f"or a table of options {sorted(RULE_KEYS)}; got {spec!r}"
        )
    unknown = set(spec) - RULE_KEYS
    if unknown:
        raise ArgumentError(
            f"{where} {name}: unknown option(s) {sorted(unknown)}; valid "
            f"options are {sorted(RULE_KEYS)}"
        )
    _check_rule(name, spec, where)
    src = spec.get("source", ())
    values = spec.get("values")
    return ColumnRule(
        name,
        sources=(src,) if isinstance(src, str) else tuple(src),
        values=MappingProxyType({match_key(k): v for k, v in values.items()}) if values else None,
        format=spec.get("format"),
        offset_from=spec.get("offset_from"),
        offset_unit=spec.get("offset_unit", "days"),
        decimal=spec.get("decimal"),
        unit=spec.get("unit"),
        scale=spec.get("scale"),
        constant=spec.get("value"),
    )


def _check_rule(name: str, spec: Mapping[str, Any], where: str) -> None:
    """Each option of one column rule has the type its key needs (the key and fix named)."""
    at = f"{where} {name}"
    src = spec.get("source", ())
    if not (
        isinstance(src, str)
        or (isinstance(src, list | tuple) and all(isinstance(x, str) for x in src))
    ):
        raise ArgumentError(f"{at}: source must be a column name or a list of names, got {src!r}")
    if "values" in spec and not isinstance(spec["values"], Mapping):
        raise ArgumentError(
            f'{at}: values must be a table such as {{ Mujer = "F" }}, got {spec["values"]!r}'
        )
    if "format" in spec:
        check_date_format(
            spec["format"], f"{at}: format", None if CONTRACT[name].kind == "date" else "first"
        )
    if "decimal" in spec and spec["decimal"] not in DECIMALS:
        raise ArgumentError(
            f"{at}: decimal must be one of {list(DECIMALS)}, got {spec['decimal']!r}"
        )
    unit = spec.get("unit")
    if unit is not None and (not isinstance(unit, str) or (name, unit.lower()) not in UNITS):
        known = sorted(u for c, u in UNITS if c == name)
        raise ArgumentError(
            f"{at}: unit {unit!r} unknown; known units are {known} (or give scale = factor)"
        )
    scale = spec.get("scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)):
        raise ArgumentError(f"{at}: scale must be a number, got {scale!r}")
    offset_from = spec.get("offset_from")
    if offset_from is not None and (
        not isinstance(offset_from, str) or getattr(CONTRACT.get(offset_from), "kind", "") != "date"
    ):
        dates = sorted(c for c, col in CONTRACT.items() if col.kind == "date")
        raise ArgumentError(
            f"{at}: offset_from must be a contract date {dates}, got {offset_from!r}"
        )
    offset_unit = spec.get("offset_unit", "days")
    if offset_unit not in OFFSET_UNITS:
        raise ArgumentError(
            f"{at}: offset_unit must be one of {sorted(OFFSET_UNITS)}, got {offset_unit!r}"
        )
    value = spec.get("value")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ArgumentError(
            f"{at}: value must be a constant (text, number or true/false), got {value!r}"
        )


#: Episode columns a later episode's block may give (its key and number are the row's own).
REPEAT_FIELDS = tuple(
    c.name for c in TABLES["episodes"] if c.name not in ("patient_id", "episode_number")
)


def parse_repeat_episodes(spec: Any) -> Mapping[int, Mapping[str, ColumnRule]]:
    """The ``[episodes.<n>]`` blocks of a mapping: later episodes held in wide columns.

    Parameters
    ----------
    spec : object
        What the mapping holds under ``episodes`` (None when absent): episode number (2, 3,
        ...) -> episode column -> rule, as in ``[columns]``.

    Returns
    -------
    mapping
        Episode number -> episode column -> :class:`ColumnRule`, in episode order.

    Raises
    ------
    ArgumentError
        For a number below 2 (episode 1 is ``[columns]``), a block without ``onset_date``,
        a column that is not an episode's own, or a rule of the wrong type.
    """
    if spec is None:
        return MappingProxyType({})
    example = '[episodes.2] onset_date = "Second DAH episode date"'
    if not isinstance(spec, Mapping):
        raise ArgumentError(f"[episodes] must hold one table per later episode, e.g. {example}")
    out: dict[int, Mapping[str, ColumnRule]] = {}
    for key, block in spec.items():
        number = int(key) if re.fullmatch(r"\s*\d+\s*", str(key)) else None
        if number is None or number < 2:
            raise ArgumentError(
                f"[episodes.{key}]: name each later episode by its number, 2 or more (episode "
                f"1 is the row's own [columns]), e.g. {example}"
            )
        where = f"[episodes.{number}]"
        if not isinstance(block, Mapping) or "onset_date" not in block:
            raise ArgumentError(
                f"{where} must be a table naming at least that episode's onset_date column "
                f"(a row whose onset is blank has no episode {number}), got {block!r}"
            )
        unknown = sorted(set(map(str, block)) - set(REPEAT_FIELDS))
        if unknown:
            raise ArgumentError(
                f"{where}: {unknown} are not an episode's own columns; valid names are "
                f"{list(REPEAT_FIELDS)} (patient columns are the row's, in [columns])"
            )
        if number in out:
            raise ArgumentError(f"{where} is given twice")
        out[number] = MappingProxyType(
            {str(f): parse_rule(str(f), r, where=where) for f, r in block.items()}
        )
    return MappingProxyType(dict(sorted(out.items())))
