"""Source layouts: how the rows of a registry's files become patients and episodes.

Each layout module turns what :func:`~dah_outcomes.io.readers.read_table` read into an
:class:`~dah_outcomes.io.layouts._base.Assembled` (contract tables still untyped, with the
problems found on the way); :mod:`dah_outcomes.io.importer` chooses the layout and validates.

* :mod:`~dah_outcomes.io.layouts.flat`: one row per patient, one row per episode, or a
  patients table and an episodes table;
* :mod:`~dah_outcomes.io.layouts.redcap`: REDCap record exports with their data dictionary;
* :mod:`~dah_outcomes.io.layouts.adtte`: CDISC ADaM ADTTE datasets.

The pieces they share (and the importer needs) are in :mod:`~dah_outcomes.io.layouts._base`;
no layout imports the importer.
"""
