"""One colour (and optionally one line type) per group, the same in every figure of a cohort.

The default palette is Okabe and Ito's (2008), whose colours stay distinct under the common
colour-vision deficiencies (deuteranopia, protanopia, tritanopia) and in greyscale print when
line types are added. Colours are dealt to groups by the sorted order of their labels, not by
the order a figure draws its curves (a Kaplan-Meier fit keeps a categorical's order, a
cumulative incidence sorts labels), so two figures of the same groups agree. A figure showing
only some of a cohort's groups keeps the others' colours when it is given the cohort's mapping,
``palette=group_colors(all_levels)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from matplotlib.colors import is_color_like

from dah_outcomes.errors import ArgumentError

__all__ = [
    "LINESTYLES",
    "OKABE_ITO",
    "PALETTE",
    "Palette",
    "group_colors",
    "group_linestyles",
]

#: Okabe-Ito colours by name, in the order they are dealt (strong contrasts first; yellow,
#: faint on white, and black, the colour of reference lines, last).
OKABE_ITO: Mapping[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: One colour per group, in the order colours are dealt, shared by every figure of a cohort.
PALETTE: tuple[str, ...] = tuple(OKABE_ITO.values())

#: Line types dealt to groups like the colours, for print in greyscale.
LINESTYLES: tuple[Any, ...] = (
    "solid",
    (0, (5, 2)),
    (0, (1, 1.5)),
    (0, (6, 2, 1, 2)),
    (0, (3, 3)),
    (0, (6, 2, 1, 2, 1, 2)),
    (0, (1, 3)),
    (0, (8, 3)),
)

#: What a ``palette=`` argument takes: colours dealt in sorted label order, or a mapping of
#: each group's label to its colour (``None``: :data:`PALETTE`).
Palette: TypeAlias = Sequence[str] | Mapping[str, str] | None


def _labels(groups: Iterable[object]) -> list[str]:
    """Distinct labels as strings, in sorted order (the order colours are dealt in)."""
    return sorted({str(g) for g in groups})


def group_colors(groups: Iterable[object], palette: Palette = None) -> dict[str, str]:
    """The colour of each group, the same for the same groups whatever order a figure uses.

    Parameters
    ----------
    groups : iterable
        Group labels (e.g. a cohort's arms, ``cohort.patients["arm"].unique()``, or a fit's
        groups); compared as strings.
    palette : sequence of str or mapping, optional
        Colours dealt to the groups in sorted order of their labels (cycling when there are
        more groups than colours), or a mapping of group label to colour, which must name every
        group. Default :data:`PALETTE` (Okabe-Ito).

    Returns
    -------
    dict of str to str
        Group label to matplotlib colour.

    Raises
    ------
    ArgumentError
        If a colour is not one matplotlib knows, the palette is empty, or a mapping leaves a
        group out.

    Examples
    --------
    >>> group_colors(["Rituximab", "MP alone"])
    {'MP alone': '#0072B2', 'Rituximab': '#D55E00'}
    """
    labels = _labels(groups)
    if isinstance(palette, Mapping):
        chosen = {str(k): v for k, v in palette.items()}
        missing = [g for g in labels if g not in chosen]
        if missing:
            raise ArgumentError(
                f"palette has no colour for {missing}; give a mapping naming every group "
                f"({labels}) or a sequence of colours"
            )
        colours = {g: chosen[g] for g in labels}
    else:
        dealt = PALETTE if palette is None else tuple(palette)
        if isinstance(palette, str) or not dealt:
            raise ArgumentError(
                f"palette must be a non-empty sequence of colours or a mapping, got {palette!r}"
            )
        colours = {g: dealt[i % len(dealt)] for i, g in enumerate(labels)}
    bad = {g: c for g, c in colours.items() if not is_color_like(c)}
    if bad:
        raise ArgumentError(f"palette: not matplotlib colours: {bad}; use names or '#rrggbb'")
    return colours


def group_linestyles(
    groups: Iterable[object], linestyles: bool | str | Sequence[Any] | Mapping[str, Any] = False
) -> dict[str, Any]:
    """The line type of each group, dealt like :func:`group_colors`.

    Parameters
    ----------
    groups : iterable
        Group labels, compared as strings.
    linestyles : bool, str, sequence or mapping, default False
        ``False``: every group solid; one style (``"dashed"``): every group in it; ``True``:
        :data:`LINESTYLES` dealt in sorted label order; a sequence of matplotlib line
        styles dealt the same way; or a mapping of group label to line style, which must name
        every group.

    Returns
    -------
    dict of str to line style
        Group label to a matplotlib ``linestyle``.

    Raises
    ------
    ArgumentError
        If a mapping leaves a group out or a sequence is empty.

    Examples
    --------
    >>> group_linestyles(["b", "a"], True)
    {'a': 'solid', 'b': (0, (5, 2))}
    """
    labels = _labels(groups)
    if linestyles is False:
        return dict.fromkeys(labels, "solid")
    if isinstance(linestyles, str):
        return dict.fromkeys(labels, linestyles)
    if isinstance(linestyles, Mapping):
        chosen = {str(k): v for k, v in linestyles.items()}
        missing = [g for g in labels if g not in chosen]
        if missing:
            raise ArgumentError(f"linestyles has no line type for {missing}; name every group")
        return {g: chosen[g] for g in labels}
    dealt = LINESTYLES if linestyles is True else tuple(linestyles)
    if not dealt:
        raise ArgumentError("linestyles must be True, False, a non-empty sequence or a mapping")
    return {g: dealt[i % len(dealt)] for i, g in enumerate(labels)}
