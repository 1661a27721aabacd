"""One error base class for the package; the CLI turns each into a one-line message."""


class CaselogError(Exception):
    """Anything caselog refuses or cannot do; its message is meant for the clerk."""


class InputError(CaselogError):
    """The input is malformed: a bad field, value, date, case number or file line."""


class RuleViolation(CaselogError):
    """The event is well-formed but does not fit the case's history (docs/domain.md)."""


class ConflictError(CaselogError):
    """Another clerk wrote to the case first: the expected version is stale."""


class TamperError(CaselogError):
    """The log does not verify: a row was altered, inserted, deleted or reordered."""
