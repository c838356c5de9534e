"""Scenarios: the file format, its validation with file/line/field errors, and the typed model.

The format is documented in docs/scenario-format.md; ``bankdrill scenarios validate PATH``
checks files. The modules:

- ``vocabulary``: the format's words and limits (dimensions, event and operation names...);
- ``model``: the typed model (``ScenarioSpec`` and its parts);
- ``errors``: ``ScenarioInvalid`` and the collector of problems with their lines;
- ``fields``, ``contacts``, ``needs``, ``checks``: validation of each part;
- ``parse``: ``parse_scenario``, one YAML text to a ``ScenarioSpec``;
- ``files``: scenario files on disk and the seeded scenarios' folder;
- ``store``: the stored versions in the database.
"""
