"""Claims: reported figures as printed, read from a claims file.

A *claim* is one figure a paper or summary reports ("mortality about 12%", "recurrence 29%",
"8 (57.1%)", "0.42 (0.21-0.80)") with what it refers to. :func:`parse_printed` reads the
printed text exactly as given, keeping its precision, so rounding can be judged at the printed
number of decimals; :func:`load_claims` reads a TOML or YAML claims file, or one shipped with
the package by name (:data:`SHIPPED_CLAIMS`). Recomputing claims from a cohort is the job of
:mod:`~dah_outcomes.reproduce.recompute`; judging them, of :mod:`~dah_outcomes.reproduce.verdicts`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from dah_outcomes.endpoints.grouping import check_by
from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.settings_files import YAML_SUFFIXES, parse_settings, read_settings_text

__all__ = [
    "SHIPPED_CLAIMS",
    "STATISTICS",
    "Claim",
    "PrintedValue",
    "load_claims",
    "parse_printed",
]

#: Statistics a claim may report, and what they mean.
STATISTICS: dict[str, str] = {
    "proportion": "events / total of an endpoint among DAH patients (first episode)",
    "mortality": "in-hospital death of the first episode, or death within `window_days`",
    "incidence_proportion": "DAH patients / SLE patients over follow-up",
    "incidence_rate": "first DAH per `per` person-years (default 1,000)",
    "median_survival": "median time from first DAH onset to death, in days",
    "survival_at": "Kaplan-Meier survival at `time_days` after first DAH onset",
    "hazard_ratio": "hazard ratio of death for `term` (Cox model)",
}

#: Claims files shipped with the package (in ``dah_outcomes/reproduce/data/``), by the name
#: :func:`load_claims` and ``dah-outcomes reproduce``/``audit`` accept in place of a path.
SHIPPED_CLAIMS: Mapping[str, str] = {
    "cited-figures": "cited_figures.toml",
}

Kind = Literal["point", "range", "lower_bound", "upper_bound"]

_NUM = r"(\d+(?:[.,]\d+)?)"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("count_percent", re.compile(rf"^(\d+)\s*(?:/\s*(\d+)\s*)?\(\s*{_NUM}\s*%\s*\)$")),
    ("fraction", re.compile(r"^(\d+)\s*/\s*(\d+)$")),
    ("range", re.compile(rf"^{_NUM}\s*%?\s*(?:-|–|to)\s*{_NUM}\s*(%?)$")),
    (
        "bound",
        re.compile(
            rf"^(>=|<=|≥|≤|>|<|more than|less than|over|under|above|below)\s*"
            rf"{_NUM}\s*(%?)$"
        ),
    ),
    (
        "estimate_ci",
        re.compile(
            rf"^{_NUM}\s*(%?)\s*\(\s*(?:95%\s*CI[:,]?\s*)?{_NUM}\s*%?\s*"
            rf"(?:-|–|,|to)\s*{_NUM}\s*%?\s*\)$"
        ),
    ),
    ("point", re.compile(rf"^(~|≈|about|approximately|around|up to)?\s*{_NUM}\s*(%?)$")),
]
_LOWER = {">", ">=", "≥", "more than", "over", "above"}


def _dec(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _decimals(text: str) -> int:
    text = text.replace(",", ".")
    return len(text.split(".")[1]) if "." in text else 0


@dataclass(frozen=True, slots=True)
class PrintedValue:
    """A figure exactly as printed.

    Attributes
    ----------
    text : str
        The printed text.
    kind : {"point", "range", "lower_bound", "upper_bound"}
        What the text asserts.
    value : Decimal
        The point value (or the bound, or the range's low end) in the printed unit.
    high : Decimal or None
        The range's high end.
    percent : bool
        Whether the value is printed as a percentage (so proportion = value / 100).
    decimals : int
        Printed decimals of ``value``: rounding is judged at this precision.
    approximate : bool
        Printed with "~", "about"...; ``up_to`` marks "up to N%".
    events, total : int or None
        Counts printed beside the figure ("8 (57.1%)", "8/14").
    ci : tuple of Decimal or None
        A printed confidence interval.
    inclusive : bool
        For bounds: ">=" rather than ">".
    """

    text: str
    kind: Kind
    value: Decimal
    high: Decimal | None = None
    percent: bool = False
    decimals: int = 0
    approximate: bool = False
    up_to: bool = False
    events: int | None = None
    total: int | None = None
    ci: tuple[Decimal, Decimal] | None = None
    inclusive: bool = False

    def as_fraction(self, x: Decimal) -> float:
        """A printed-unit number as a proportion (divides percentages by 100)."""
        return float(x / 100) if self.percent else float(x)

    def printed_as(self, estimate: float) -> Decimal:
        """``estimate`` (a proportion, or a plain number) as it prints in this figure's unit
        and precision, rounding half up."""
        # repr gives the shortest decimal that round-trips, so 0.125 is 12.5, not 12.4999...
        x = Decimal(repr(estimate * 100 if self.percent else estimate))
        with localcontext() as ctx:  # a fraction's 28 decimals outrun the default precision
            ctx.prec = _PRECISION
            return x.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)

    def rounds_to(self, estimate: float, value: Decimal | None = None) -> bool:
        """Whether ``estimate`` (a proportion, or a plain number) prints as ``value``."""
        target = self.value if value is None else value
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.printed_as(estimate) == target.quantize(Decimal(1).scaleb(-self.decimals))


#: No printed figure has more digits than these; more means a typing or export error, and
#: judging rounding at, say, 32 decimals would outrun decimal arithmetic's precision.
MAX_SIGNIFICANT_DIGITS = 15
MAX_DECIMALS = 10
#: Decimal precision for rounding judgements: a fraction's value is held to 28 decimals and
#: a printed number to 15 significant digits, so 60 digits always suffice.
_PRECISION = 60


def _check_digits(raw: str, numbers: list[str]) -> None:
    for number in numbers:
        digits = number.replace(",", ".").replace(".", "").lstrip("0")
        if len(digits) > MAX_SIGNIFICANT_DIGITS or _decimals(number) > MAX_DECIMALS:
            raise ArgumentError(
                f"the printed figure {raw!r} has a number with {len(digits)} digits "
                f"({_decimals(number)} decimals): no printed figure has more than "
                f"{MAX_SIGNIFICANT_DIGITS} significant digits or {MAX_DECIMALS} decimals; "
                "write it as printed"
            )


def parse_printed(text: str) -> PrintedValue:
    """Parse a printed figure: ``12%``, ``~12%``, ``>50%``, ``5-6%``, ``8 (57.1%)``, ``8/14``,
    ``0.42 (0.21-0.80)``, ``310``.

    Parameters
    ----------
    text : str
        The figure as printed.

    Returns
    -------
    PrintedValue
        Its kind (point, range or bound), value(s), printed decimals, counts and interval.

    Raises
    ------
    ArgumentError
        If the text is none of the recognised forms.

    Examples
    --------
    >>> p = parse_printed("8 (57.1%)")
    >>> p.events, p.value, p.decimals, p.percent
    (8, Decimal('57.1'), 1, True)
    >>> parse_printed(">50%").kind
    'lower_bound'
    """
    raw = str(text).strip()
    s = raw.lower()
    for name, pattern in _PATTERNS:
        m = pattern.match(s)
        if not m:
            continue
        g = m.groups()
        _check_digits(raw, [x for x in g if x and x[0].isdigit()])
        if name == "count_percent":
            return PrintedValue(
                raw,
                "point",
                _dec(g[2]),
                percent=True,
                decimals=_decimals(g[2]),
                events=int(g[0]),
                total=int(g[1]) if g[1] else None,
            )
        if name == "fraction":
            k, n = int(g[0]), int(g[1])
            if n == 0 or k > n:
                break
            return PrintedValue(
                raw,
                "point",
                Decimal(k) / Decimal(n) * 100,
                percent=True,
                decimals=28,
                events=k,
                total=n,
            )
        if name == "range":
            percent = g[2] == "%" or "%" in s
            return PrintedValue(
                raw,
                "range",
                _dec(g[0]),
                high=_dec(g[1]),
                percent=percent,
                decimals=max(_decimals(g[0]), _decimals(g[1])),
            )
        if name == "bound":
            lower = g[0] in _LOWER
            return PrintedValue(
                raw,
                "lower_bound" if lower else "upper_bound",
                _dec(g[1]),
                percent=g[2] == "%",
                decimals=_decimals(g[1]),
                inclusive=g[0] in {">=", "≥", "<=", "≤"},
            )
        if name == "estimate_ci":
            percent = g[1] == "%"
            return PrintedValue(
                raw,
                "point",
                _dec(g[0]),
                percent=percent,
                decimals=_decimals(g[0]),
                ci=(_dec(g[2]), _dec(g[3])),
            )
        if name == "point":
            qualifier = g[0] or ""
            return PrintedValue(
                raw,
                "point",
                _dec(g[1]),
                percent=g[2] == "%",
                decimals=_decimals(g[1]),
                approximate=qualifier not in ("", "up to"),
                up_to=qualifier == "up to",
            )
    raise ArgumentError(
        f"cannot read the printed figure {raw!r}: write it as printed, e.g. '12%', '~12%', "
        "'>50%', '5-6%', '8 (57.1%)', '8/14' or '0.42 (0.21-0.80)'"
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """One reported figure.

    Attributes
    ----------
    id : str
        Short key.
    statistic : str
        A key of :data:`STATISTICS`.
    printed : PrintedValue
        The figure as printed.
    endpoint : str or None
        Endpoint for ``proportion`` claims (see :data:`~dah_outcomes.endpoints.ENDPOINTS`).
    by, group : str or None
        The subgroup the figure refers to (``by="arm", group="MP+CYC+PLEX"``).
    n : int or None
        The stated sample size.
    window_days, time_days : int or None
        For mortality within a window, and survival at a time.
    term : str or None
        For hazard ratios: the covariate (e.g. ``"plasmapheresis"``).
    per : float
        For incidence rates: person-years the rate is expressed per.
    source : str
        Where the figure was printed.
    """

    id: str
    statistic: str
    printed: PrintedValue
    endpoint: str | None = None
    by: str | None = None
    group: str | None = None
    n: int | None = None
    window_days: int | None = None
    time_days: int | None = None
    term: str | None = None
    per: float = 1000.0
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


_FIELDS = {
    "id",
    "statistic",
    "value",
    "endpoint",
    "by",
    "group",
    "n",
    "window_days",
    "time_days",
    "term",
    "per",
    "source",
    "population",
    "ci",
}


#: The type each field must have in a claims file, as a reader would write it.
_TEXT_FIELDS: tuple[str, ...] = ("id", "statistic", "value", "endpoint", "by", "group", "term")
_TEXT_FIELDS += ("source", "population", "ci")
_WHOLE_FIELDS = ("n", "window_days", "time_days")
#: Statistics whose printed percentage is a proportion (at most 100%).
_PROPORTIONS = ("proportion", "mortality", "incidence_proportion", "survival_at")


def _type_problems(entry: Mapping[str, Any], where: str) -> list[str]:
    """Every field of the wrong type, each with the fix (a TOML number for ``value`` is
    ambiguous: 12 could be 12% or 0.12, so the printed text is asked for)."""
    problems = []
    for key in _TEXT_FIELDS:
        if key in entry and not isinstance(entry[key], str):
            fix = (
                f'write the figure as printed, in quotes: value = "{entry[key]}%" or "{entry[key]}"'
                if key == "value"
                else f'write it as text, in quotes: {key} = "{entry[key]}"'
                if isinstance(entry[key], int | float)
                else f'write one value as text, in quotes: {key} = "..."'
            )
            problems.append(
                f"{where}: {key} must be text, got {type(entry[key]).__name__} "
                f"{entry[key]!r}; {fix}"
            )
    for key in _WHOLE_FIELDS:
        value = entry.get(key)
        if key in entry and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            problems.append(f"{where}: {key} must be a positive whole number, got {value!r}")
    per = entry.get("per")
    if "per" in entry and (
        isinstance(per, bool) or not isinstance(per, int | float) or not 0 < per < float("inf")
    ):
        problems.append(f"{where}: per must be a positive number of person-years, got {per!r}")
    return problems


def _claim(entry: Mapping[str, Any], where: str, problems: list[str]) -> Claim | None:
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}")
    typed = _type_problems(entry, where)
    problems += typed
    stat = entry.get("statistic")
    if isinstance(stat, str) and stat not in STATISTICS:
        problems.append(f"{where}: statistic must be one of {sorted(STATISTICS)}, got {stat!r}")
    if stat is None:
        problems.append(f"{where}: statistic is missing; one of {sorted(STATISTICS)}")
    if "value" not in entry:
        problems.append(f"{where}: value (the figure as printed) is missing")
    if typed or stat not in STATISTICS or "value" not in entry:
        return None
    try:
        printed = parse_printed(entry["value"])
    except ArgumentError as err:
        problems.append(f"{where}: {err}")
        return None
    if stat in _PROPORTIONS and printed.percent and (printed.high or printed.value) > 100:
        problems.append(f"{where}: value {entry['value']!r} is over 100%, which a {stat} cannot be")
    if stat == "proportion" and not entry.get("endpoint"):
        problems.append(f"{where}: a proportion claim needs endpoint = one of the endpoints")
    by, group = entry.get("by"), entry.get("group")
    population = entry.get("population")
    if population and ":" in population:  # "arm:MP+CYC+PLEX" shorthand
        by, group = population.split(":", 1)
    if by is not None:
        try:
            check_by(by)
        except ArgumentError as err:
            problems.append(f"{where}: {err}")
    return Claim(
        id=entry.get("id", where),
        statistic=stat,
        printed=printed,
        endpoint=entry.get("endpoint"),
        by=by,
        group=group,
        n=entry.get("n"),
        window_days=entry.get("window_days"),
        time_days=entry.get("time_days"),
        term=entry.get("term"),
        per=float(entry.get("per", 1000.0)),
        source=entry.get("source", ""),
        extra={k: v for k, v in entry.items() if k in ("population", "ci")},
    )


def _read_source(source: str | Path) -> tuple[str, str, str]:
    """The text of a claims source, its suffix and how to name it in messages."""
    # A shipped name wins over a file of that name in the working directory; the names carry
    # no suffix, so only a suffix-less file could be shadowed.
    if isinstance(source, str) and source in SHIPPED_CLAIMS:
        ref = resources.files("dah_outcomes.reproduce") / "data" / SHIPPED_CLAIMS[source]
        return ref.read_text(encoding="utf-8"), Path(SHIPPED_CLAIMS[source]).suffix, source
    path = Path(source)
    if not path.is_file():
        raise ArgumentError(
            f"claims file {path} {'is a folder' if path.is_dir() else 'does not exist'}: give "
            "the path of a TOML or YAML claims file or the name of a shipped one "
            f"({', '.join(sorted(SHIPPED_CLAIMS))})"
        )
    return read_settings_text(path, f"claims file {path}"), path.suffix, str(path)


def _entries(data: Any, where: str, toml: bool) -> list[Any]:
    """The list of claim tables a parsed claims file holds, or an error saying how to
    write it (``[claim]`` makes one table, ``[[claim]]`` the list of them)."""
    key, how = ("claim", "[[claim]] tables") if toml else ("claims", "a `claims:` list")
    entries = data.get(key) if isinstance(data, dict) else None
    if entries is None or entries == []:
        raise ArgumentError(
            f"claims file {where} lists no claims: add {how}"
            + ("" if toml else " (or [[claim]] tables in a .toml file)")
        )
    if isinstance(entries, dict):
        raise ArgumentError(
            f"claims file {where}: `{key}` is one table, not a list of them; write "
            + ("[[claim]] (double brackets) above each claim" if toml else "`- ` before each claim")
        )
    if not isinstance(entries, list):
        raise ArgumentError(
            f"claims file {where}: `{key}` must be {how}, got {type(entries).__name__}"
        )
    return entries


def load_claims(source: str | Path) -> list[Claim]:
    """Read a claims file (TOML with ``[[claim]]`` tables, or YAML with a ``claims:`` list).

    Parameters
    ----------
    source : str or Path
        A path to a ``.toml``, ``.yaml`` or ``.yml`` file, or the name of a claims file shipped
        with the package, a key of :data:`SHIPPED_CLAIMS` (``"cited-figures"``).

    Returns
    -------
    list of Claim
        The claims in file order.

    Raises
    ------
    ArgumentError
        If the source does not exist or cannot be parsed, listing every malformed claim at once.

    Examples
    --------
    >>> [c.id for c in load_claims("cited-figures")][:2]
    ['incidence', 'first_manifestation']
    """
    text, suffix, where = _read_source(source)
    toml = suffix.lower() not in YAML_SUFFIXES
    entries = _entries(
        parse_settings(text, yaml_format=not toml, where=f"claims file {where}"), where, toml
    )
    problems: list[str] = []
    claims = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            problems.append(
                f"claim {i + 1}: must be a table of fields (id, statistic, value...), got "
                f"{type(e).__name__} {e!r}"
            )
            continue
        name = e.get("id") if isinstance(e.get("id"), str) else "?"
        if (c := _claim(e, f"claim {i + 1} ({name})", problems)) is not None:
            claims.append(c)
    if problems:
        raise ArgumentError(
            f"claims file {where} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return claims
