"""The ways a trust's step can differ from the reference: the report's and the register's one list."""

from enum import StrEnum


class Dimension(StrEnum):
    PRESENCE = "presence"
    TIMING = "timing"
    COUNT = "count"
    MODE = "mode"
    PARTICIPANT = "participant"
    CONDITION = "condition"
