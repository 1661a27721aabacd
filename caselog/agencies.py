"""The agency registry (机构名录): a fold over its events, what it refuses, and its guard on the case events.

The registry's events are logged in the same chain as the cases', in their own stream
(``events.REGISTRY``), so ``verify`` covers them and an as-of view holds the registry of that
moment.  Once an agency is registered, every name a case event gives must be known to the registry:
``admit`` resolves an alias or former name to the agency and refuses a stranger with the nearest
registered names.
"""

from __future__ import annotations

import csv
import difflib
import json
import zipfile
from typing import Any, Iterable

import attrs

from caselog import events as ev
from caselog import vocabulary
from caselog.errors import InputError, RuleViolation

SUGGESTED = 3  # nearest names a refusal offers


@attrs.define
class Agency:
    """A registered agency as the registry holds it now."""

    name: str
    agency_level: str
    region: str
    aliases: list[str] = attrs.Factory(list)
    former_names: list[dict[str, str]] = attrs.Factory(list)  # [{"name", "until"}], oldest first


class Registry:
    """The registry at one position of the log: its agencies by name, and every known name -> agency."""

    __slots__ = ("agencies", "names", "version")

    def __init__(self) -> None:
        self.agencies: dict[str, Agency] = {}
        self.names: dict[str, str] = {}  # a name, alias or former name -> the agency's name now
        self.version = 0  # registry events folded

    def copy(self) -> "Registry":
        clone = Registry()
        clone.agencies = {name: attrs.evolve(a, aliases=list(a.aliases), former_names=list(a.former_names))
                          for name, a in self.agencies.items()}
        clone.names, clone.version = dict(self.names), self.version
        return clone

    def agency(self, name: str) -> Agency:
        """The agency ``name`` names (its name, an alias or a former name), or RuleViolation."""
        found = self.names.get(name)
        if found is None:
            raise RuleViolation(f"{name} is not a registered agency or alias{self.suggestion(name)}")
        return self.agencies[found]

    def suggestion(self, name: str) -> str:
        near = difflib.get_close_matches(name, list(self.names), n=len(self.names), cutoff=0.5)
        nearest = list(dict.fromkeys(self.names[n] for n in near))[:SUGGESTED]
        return f" (did you mean {' or '.join(nearest)}?)" if nearest else ""


def _new_name(registry: Registry, name: str) -> None:
    known = registry.names.get(name)
    if known is not None:
        raise RuleViolation(f"{name} is already known to the registry" + ("" if known == name else f", as {known}"))


def decide(registry: Registry, event: ev.Event) -> Registry:
    """The registry after ``event``, or RuleViolation if it does not fit the registry."""
    new = registry.copy()
    new.version += 1
    kind = event.TYPE
    if kind == "agency_registered":
        for name in (event.agency, *(event.aliases or ())):
            _new_name(registry, name)
        new.agencies[event.agency] = Agency(event.agency, event.agency_level, event.region, list(event.aliases or ()))
        new.names.update(dict.fromkeys((event.agency, *(event.aliases or ())), event.agency))
        return new
    agency = new.agency(event.agency)
    if kind == "agency_aliased":
        _new_name(registry, event.alias)
        agency.aliases.append(event.alias)
        new.names[event.alias] = agency.name
    elif kind == "agency_renamed":
        if event.new_name in agency.aliases:  # an alias becomes the name
            agency.aliases.remove(event.new_name)
        else:
            _new_name(registry, event.new_name)
        last = agency.former_names[-1]["until"] if agency.former_names else ""
        if event.renamed_on < last:
            raise RuleViolation(f"{agency.name} was renamed on {last}: a later rename cannot take effect on "
                                f"{event.renamed_on}")
        agency.former_names.append({"name": agency.name, "until": event.renamed_on})
        del new.agencies[agency.name]
        agency.name = event.new_name
        new.agencies[agency.name] = agency
        for known in (agency.name, *agency.aliases, *(f["name"] for f in agency.former_names)):
            new.names[known] = agency.name
    elif kind == "agency_updated":
        agency.agency_level = event.agency_level or agency.agency_level
        agency.region = event.region or agency.region
    else:
        raise RuleViolation(f"{kind} is not an event of the agency registry")
    return new


def fold(events: Iterable[ev.Event]) -> Registry:
    """The registry its logged events make, in log order (each was decided when it was logged)."""
    registry = Registry()
    for event in events:
        registry = decide(registry, event)
    return registry


# --- the guard on the case events ------------------------------------------------------------


def admit(registry: Registry, event: ev.Event, defendants: tuple[str, ...]) -> ev.Event:
    """``event`` as it is to be stored: every agency it names resolved to its agency, or RuleViolation
    for a name the registry does not know.  A log without a registry takes any name.

    A name is stored as the agency under the name its case already knows it by (``defendants``), else
    under the agency's name now: a hearing of a case filed against an agency before it was renamed
    names the same defendant as the filing.
    """
    if not registry.names:
        return event
    if event.TYPE == "event_corrected":
        changes = {key: _resolved(registry, key, value, defendants) if key in ev.AGENCY_FIELDS else value
                   for key, value in event.changes.items()}
        return event if changes == event.changes else attrs.evolve(event, changes=changes)
    present = {key: value for key in ev.AGENCY_FIELDS if (value := getattr(event, key, None)) is not None}
    resolved = {key: _resolved(registry, key, value, defendants) for key, value in present.items()}
    if resolved == present:
        return event
    try:
        return ev.make(event.TYPE, {**ev.payload(event), **resolved})
    except ValueError as error:  # two names of one agency given as two defendants
        raise RuleViolation(f"once aliases are resolved, {error}") from None


def _resolved(registry: Registry, key: str, value: Any, defendants: tuple[str, ...]) -> Any:
    def spelled(name: Any) -> Any:
        if not isinstance(name, str):
            return name  # a correction's bad value: the rules refuse it
        try:
            name = ev.agency_name(name)
        except (ValueError, TypeError):
            return name
        agency = registry.agency(name).name
        return next((d for d in defendants if registry.names.get(d) == agency), agency)

    if key == "co_defendants" and isinstance(value, list):
        return [{**d, "agency": spelled(d["agency"])} if isinstance(d, dict) and "agency" in d else d for d in value]
    if key == "dispositions" and isinstance(value, dict):
        return {spelled(name): disposition for name, disposition in value.items()}
    return spelled(value)


# --- the projection's rows -------------------------------------------------------------------

#: The projection tables the registry fills (caselog.projections), column -> SQL type.
TABLES: dict[str, dict[str, str]] = {
    "agencies": {"agency": "TEXT", "agency_level": "TEXT", "region": "TEXT", "aliases": "TEXT",
                 "former_names": "TEXT"},
    # Every name the registry knows: its agency's own (kind name), an alias, or a former name until its rename.
    "agency_names": {"name": "TEXT", "agency": "TEXT", "kind": "TEXT", "until": "TEXT"},
}
PRIMARY_KEYS = {"agencies": ("agency",), "agency_names": ("name",)}


def rows(registry: Registry) -> dict[str, list[tuple]]:
    """The registry as the rows of ``TABLES``, in key order."""
    agencies, names = [], []
    for a in registry.agencies.values():
        agencies.append((a.name, a.agency_level, a.region, json.dumps(a.aliases, ensure_ascii=False),
                         json.dumps(a.former_names, ensure_ascii=False)))
        names.append((a.name, a.name, "name", None))
        names += [(alias, a.name, "alias", None) for alias in a.aliases]
        names += [(f["name"], a.name, "former", f["until"]) for f in a.former_names]
    return {"agencies": sorted(agencies), "agency_names": sorted(names)}


# --- a registry from a sheet -----------------------------------------------------------------

#: The sheet's headers: 名称 (name), 级别 (level), 区县 (region), 别名 (aliases, optional).
HEADERS = {"名称": "agency", "级别": "agency_level", "区县": "region", "别名": "aliases"}
_ALIAS_SEPARATORS = str.maketrans({"、": ";", "；": ";", ",": ";", "，": ";"})  # how people list names


def read_table(path: str) -> list[list[Any]]:
    """The cells of a CSV file (UTF-8, with or without a BOM) or of an XLSX workbook's first sheet."""
    if path.lower().endswith(".xlsx"):
        import openpyxl  # only a sheet's import pays for it

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise InputError(f"{path} is not an XLSX workbook caselog can read: {error}") from None
        try:
            return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    if not path.lower().endswith(".csv"):
        raise InputError(f"{path}: a registry sheet is a .csv or .xlsx file")
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return list(csv.reader(file))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: save the sheet as CSV UTF-8") from None


def sheet_events(table: list[list[Any]], registry: Registry) -> list[tuple[int, ev.Event]]:
    """The registrations a sheet's rows make (the first row its headers) as (row number, event), or
    InputError naming every bad row, checked against ``registry`` too: a sheet is taken whole or not at all."""
    if not table or not any(table[0]):
        raise InputError("the sheet is empty: its first row names the columns 名称, 级别, 区县 and optionally 别名")
    headers = [str(cell or "").strip() for cell in table[0]]
    missing = [h for h in ("名称", "级别", "区县") if h not in headers]
    unknown = [h for h in headers if h and h not in HEADERS]
    if missing or unknown:
        raise InputError("the sheet's first row must name the columns 名称, 级别, 区县 and optionally 别名"
                         + (f"; missing {', '.join(missing)}" if missing else "")
                         + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    out, problems = [], []
    for number, row in enumerate(table[1:], 2):
        cells = {HEADERS[h]: str(cell).strip() for h, cell in zip(headers, row) if h and cell not in (None, "")}
        if not any(cells.values()):
            continue
        try:
            aliases = [a for a in cells.pop("aliases", "").translate(_ALIAS_SEPARATORS).split(";") if a.strip()]
            event = vocabulary.read("agency_registered", {**cells, **({"aliases": aliases} if aliases else {})})
            registry = decide(registry, event)  # a name given twice, or known to the log already
            out.append((number, event))
        except (vocabulary.EntryError, RuleViolation) as error:
            problems.append(f"row {number}: {error}")
    if problems:
        raise InputError(f"nothing imported: {len(problems)} problem(s): " + "; ".join(problems))
    return out
