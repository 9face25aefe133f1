"""The small TOML or YAML files a user writes by hand: import mappings and claims files.

Both are read the same way, so both fail the same way: one :class:`ArgumentError` naming the
file and what to do, never a decoding or parser traceback. The text must be UTF-8 (a BOM is
accepted; UTF-16, which Windows editors write as "Unicode", is named as such), and YAML
aliases are refused before anything is built, since a few lines of anchors can expand to
billions of nodes and neither kind of file has any use for them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from dah_outcomes.errors import ArgumentError

__all__ = ["YAML_SUFFIXES", "decode_settings", "parse_settings", "read_settings_text"]

#: Suffixes read as YAML; everything else is read as TOML.
YAML_SUFFIXES = (".yaml", ".yml")


def decode_settings(raw: bytes, where: str) -> str:
    """The text of a settings file's bytes, or an error naming its encoding.

    Parameters
    ----------
    raw : bytes
        The file's content.
    where : str
        How to name the file in messages (``"mapping file m.toml"``).

    Returns
    -------
    str
        The text (a UTF-8 byte-order mark removed).

    Raises
    ------
    ArgumentError
        For UTF-16 or other non-UTF-8 bytes.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:200]:
        raise ArgumentError(
            f"{where} is UTF-16 text: save it as UTF-8 (in Notepad: Save as > Encoding > UTF-8)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArgumentError(
            f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8"
        ) from exc


def read_settings_text(path: str | Path, where: str) -> str:
    """Read a settings file as UTF-8 text.

    Parameters
    ----------
    path : str or Path
        The file.
    where : str
        How to name it in messages.

    Returns
    -------
    str
        Its text.

    Raises
    ------
    ArgumentError
        When it cannot be read or is not UTF-8.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ArgumentError(f"cannot read the {where}: {exc.strerror or exc}") from exc
    return decode_settings(raw, where)


def parse_settings(text: str, *, yaml_format: bool, where: str) -> Any:
    """Parse settings text as TOML or YAML (aliases refused).

    Parameters
    ----------
    text : str
        The text.
    yaml_format : bool
        Read it as YAML rather than TOML.
    where : str
        How to name the file in messages.

    Returns
    -------
    object
        What the text holds (a dict for TOML; anything YAML can hold, for the caller to
        type-check).

    Raises
    ------
    ArgumentError
        When it is not valid TOML or YAML, or uses YAML aliases.
    """
    if not yaml_format:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ArgumentError(f"{where} is not valid TOML: {exc}") from exc
    import yaml

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ArgumentError(
                    f"{where}: YAML aliases (*name) are not allowed; write the values out"
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:  # not a ValueError
        raise ArgumentError(f"{where} is not valid YAML: {exc}") from exc
    except RecursionError as exc:  # deeply nested brackets
        raise ArgumentError(f"{where} is nested too deeply to be a settings file") from exc
