"""Canned queries reviewers run in Datasette, all read-only.

Every rate comes from ``yearly_figures`` (computed by caselog.figures); the
queries only select and order.  Parameters arrive as text, so they are cast
before being compared with typed columns; an empty optional parameter means
"any", and an empty year the latest complete year, so that a query opened
from the database page shows a year whose figures are final.
"""

from __future__ import annotations

import sqlite3

from caselog import figures, projections
from caselog import events as ev

#: Each parameter's (Chinese label, English label, what it takes), shown beside its field.
PARAMS: dict[str, tuple[str, str, str]] = {
    "year": ("年度", "year", "四位年份,如 2022;留空为最近一个完整年度 / a year such as 2022; empty: the latest complete year"),
    "level": ("审级范围", "level", "all 全部审级(默认)或 first 仅一审 / all levels (default) or first instance only"),
    "agency": ("被告机关", "agency", "机关全称;留空为全部机关 / an agency's full name; empty: every agency"),
    "case": ("案号", "case", "一审案号,如 (2022)浙0302行初123号 / a first-instance case number"),
    "since": ("起始时间", "since", "记录时间不早于此,如 2023-01-01;留空不限 / recorded at or after, e.g. 2023-01-01; empty: any"),
    "until": ("截止时间", "until", "记录时间不晚于此(日期含当天);留空不限 / recorded at or before (a date includes the day); empty: any"),
    "clerk": ("记录人", "clerk", "书记员用户名;留空为全部 / a clerk's name; empty: every clerk"),
}

# The latest year before this one with the city's figures (or the last year at all), as
# caselog.summary.latest_complete_year finds it; a test holds the two to the same answer.
LATEST_COMPLETE_YEAR = """(SELECT coalesce(max(CASE WHEN year < CAST(strftime('%Y', 'now', 'localtime') AS INTEGER)
  THEN year END), max(year)) FROM yearly_figures WHERE agency = '' AND level = 'all')"""
YEAR = f"coalesce(CAST(nullif(trim(:year), '') AS INTEGER), {LATEST_COMPLETE_YEAR})"

_FIRST = ("appearance_rate", "speaking_rate", "loss_rate")
_FIGURE_COLUMNS = ", ".join(f'"{key}"' for key in _FIRST + tuple(k for k in figures.KEYS if k not in _FIRST))

# Optional filters shared by the unit queries; level "all" or empty means every level.
_UNIT_FILTERS = """
  AND (:level IN ('', 'all') OR u.level = :level)"""
# The units a figure counts: the city's (one a case and level) or, given an agency, that agency's own
# (one a case, level and defendant: a co-defendant case counts for each defendant).
_UNIT_COLUMNS = ", ".join(f'"{c}"' for c in projections.VIEWS["defendant_units"][0] if c != "role")
_UNITS_COUNTED = f"""(SELECT {_UNIT_COLUMNS} FROM appearance_units WHERE caselog_agency(:agency) = ''
      UNION ALL SELECT {_UNIT_COLUMNS}
      FROM defendant_units WHERE caselog_agency(:agency) <> '' AND agency = caselog_agency(:agency)) u"""
_OUTCOME_COLUMNS = ", ".join(f'"{c}"' for c in projections.VIEWS["defendant_outcomes"][0] if c != "role")

# The agency's groups (caselog.figures.GROUPS) share yearly_figures' agency column under their prefixes.
_AN_AGENCY = " AND ".join(f"agency NOT LIKE '{prefix}%'" for prefix in figures.GROUPS.values())
_LEVEL_PREFIX = figures.GROUPS["agency_level"]

_OFFICIALS = """(SELECT group_concat(DISTINCT h.official) FROM hearings h
   WHERE h."case" = u."case" AND h.level = u.level AND h.official IS NOT NULL) AS officials"""

QUERIES: dict[str, dict] = {
    "rates_by_agency": {
        "title": "各单位年度数据(由差到好)· A year's rates by agency, worst first",
        "description": (
            "出庭应诉率最低者在前,其次败诉率最高者在前;无庭审的单位排在最后。数据取自 yearly_figures。"
            " Lowest appearance rate first, then highest loss rate; agencies with no hearings last."
            " Figures are read from yearly_figures. level: all (default) or first."
        ),
        "params": ["year", "level"],
        "sql": f"""SELECT agency, {_FIGURE_COLUMNS}
FROM yearly_figures
WHERE year = {YEAR}
  AND level = coalesce(nullif(:level, ''), 'all')
  AND agency <> '' AND {_AN_AGENCY}
ORDER BY appearance_rate IS NULL, coalesce(appearance_rate, 0), -coalesce(loss_rate, 0), agency""",
    },
    "rates_by_level": {
        "title": "按被告级别的年度数据 · A year's rates by the defendant's level",
        "description": (
            "机构名录中各被告级别的年度数据,按案件和被告计算(共同被告案件计入每个被告的级别);"
            "未登记的机关归入 unregistered(未登记)。数据取自 yearly_figures。"
            " A year's figures for each level of defendant in the agency registry, counted per case and"
            " defendant; agencies the registry lacks are unregistered. level: all (default) or first."
        ),
        "params": ["year", "level"],
        "sql": f"""SELECT substr(agency, {len(_LEVEL_PREFIX) + 1}) AS agency_level, {_FIGURE_COLUMNS}
FROM yearly_figures
WHERE year = {YEAR}
  AND level = coalesce(nullif(:level, ''), 'all')
  AND agency LIKE '{_LEVEL_PREFIX}%'
ORDER BY CASE substr(agency, {len(_LEVEL_PREFIX) + 1}) {" ".join(f"WHEN '{w}' THEN {i}" for i, w in enumerate(ev.AGENCY_LEVELS))} ELSE {len(ev.AGENCY_LEVELS)} END""",
    },
    "silent_heads": {
        "title": "出庭不出声 · Heads who appeared and stayed silent",
        "description": (
            "负责人出庭但未就解决争议发言的案件·审级(法释〔2020〕3号第十一条)。"
            " Units (one case at one level) whose first hearing is in the year where a head appeared"
            " and no head spoke (art. 11). level and agency are optional."
        ),
        "params": ["year", "level", "agency"],
        "sql": f"""SELECT u.agency, u."case", u.level, u.attendance, u.first_held_on, u.hearings,
  {_OFFICIALS}
FROM {_UNITS_COUNTED}
WHERE u.year = {YEAR} AND u.head = 1 AND u.silent = 1{_UNIT_FILTERS}
ORDER BY u.agency, u.first_held_on, u."case", u.level""",
    },
    "recommendations_expected": {
        "title": "应发司法建议 · Units where art. 12 calls for a judicial recommendation",
        "description": (
            "工作人员无正当理由代替负责人出庭、仅律师出庭、无人出庭,或负责人中途退庭、拒绝解释说明,法院应发司法建议(第十二条)。"
            " Units where staff stood in without a valid excuse, only a lawyer attended, nobody did, or a head"
            " left early or refused to explain: the court is expected to send a judicial recommendation (art. 12)."
            " level and agency are optional."
        ),
        "params": ["year", "level", "agency"],
        "sql": f"""SELECT u.agency, u."case", u.level, u.attendance, u.excused, u.head_left_or_refused, u.first_held_on,
  u.hearings, {_OFFICIALS}
FROM {_UNITS_COUNTED}
WHERE u.year = {YEAR} AND u.recommendation_expected = 1{_UNIT_FILTERS}
ORDER BY u.agency, u.first_held_on, u."case", u.level""",
    },
    "losses_and_reversals": {
        "title": "败诉及二审改判 · Losses and their reversals on appeal",
        "description": (
            "当年审结、一审败诉或生效结果为败诉的案件,及其上诉、再审结果;reduced_on_appeal 为经二审核减。"
            " Cases concluded in the year that were lost at first instance or in effect, with their appeals"
            " and retrials: reduced_on_appeal marks a loss reversed (核减), added_on_appeal a non-loss reversed"
            " into a loss. agency is optional."
        ),
        "params": ["year", "agency"],
        "sql": f"""SELECT o.agency, o."case", o.concluded_on, o.first_disposition, o.disposition,
  o.first_loss, o.loss, o.reduced_on_appeal, o.added_on_appeal,
  (SELECT json_group_array(json_object('level', a.level, 'appeal_case', a.appeal_case,
     'filed_on', a.filed_on, 'decided_on', a.decided_on, 'result', a.result, 'disposition', a.disposition))
   FROM (SELECT * FROM appeals WHERE "case" = o."case" ORDER BY seq) a) AS appeals
FROM (SELECT {_OUTCOME_COLUMNS} FROM outcomes WHERE caselog_agency(:agency) = ''
      UNION ALL SELECT {_OUTCOME_COLUMNS}
      FROM defendant_outcomes WHERE caselog_agency(:agency) <> '' AND agency = caselog_agency(:agency)) o
WHERE o.year = {YEAR} AND (o.first_loss = 1 OR o.loss = 1)
ORDER BY o.reduced_on_appeal DESC, o.added_on_appeal DESC, o.agency, o.concluded_on, o."case"
""",
    },
    "reconsideration_without_head": {
        "title": "复议机关未派负责人出庭 · Co-defendant cases where the 复议机关 sent no head",
        "description": (
            "复议维持案件中作为共同被告的复议机关,在该审级没有负责人出庭的案件·审级。"
            " Units (one case at one level) of cases where the reconsideration body (复议机关) is a co-defendant"
            " and no head of it appeared. level is optional."
        ),
        "params": ["year", "level"],
        # A 复议机关 is always a co-defendant: its units, and its case's first defendant's, are all in
        # multi_defendant_units, which the view defendant_units would only filter down to.
        "sql": f"""SELECT u.agency AS reconsideration_body, u."case", u.level, u.attendance, u.first_held_on,
  c.agency AS first_defendant,
  (SELECT d.attendance FROM multi_defendant_units d WHERE d."case" = u."case" AND d.level = u.level
     AND d.agency = c.agency) AS first_defendant_attendance
FROM multi_defendant_units u JOIN cases c ON c."case" = u."case"
WHERE u.year = {YEAR} AND u.role = 'reconsideration' AND u.head = 0{_UNIT_FILTERS}
ORDER BY u.agency, u.first_held_on, u."case", u.level""",
    },
    "case_trail": {
        "title": "案件审计轨迹 · One case's audit trail",
        "description": (
            "一个案件的全部事件,按记录顺序,含更正和撤回。 Every event logged for one case, in log order,"
            " with the corrections and retractions that name each one. case: e.g. (2022)浙0302行初123号."
        ),
        "params": ["case"],
        "sql": """SELECT e.position, e.recorded_at, e.recorded_by, e.version, e.type, e.event_id,
  json(e.payload) AS payload,
  (SELECT group_concat(r.type || ' ' || r.event_id, '; ') FROM events r
   WHERE r."case" = e."case" AND r.type IN ('event_corrected', 'event_retracted')
     AND json_extract(r.payload, '$.target') = e.event_id) AS corrected_or_retracted_by,
  e.hash
FROM events e
WHERE e."case" = trim(replace(replace(:case, '（', '('), '）', ')'))
ORDER BY e.position""",
    },
    "corrections": {
        "title": "更正与撤回 · Corrections and retractions in a period",
        "description": (
            "一段时间内记录的更正和撤回、记录人、理由及被更正的原事件。"
            " Corrections and retractions recorded in a period, who made them, why, and the event they target."
            " since and until are ISO dates or UTC times (until: a date means its end); clerk is optional."
        ),
        "params": ["since", "until", "clerk"],
        "sql": """SELECT c.position, c.recorded_at, c.recorded_by, c."case", c.type,
  json_extract(c.payload, '$.reason') AS reason,
  json_extract(c.payload, '$.changes') AS changes,
  t.event_id AS target, t.type AS target_type, t.recorded_by AS target_recorded_by,
  t.recorded_at AS target_recorded_at, json(t.payload) AS target_payload
FROM events c
JOIN events t ON t.event_id = json_extract(c.payload, '$.target')
WHERE c.type IN ('event_corrected', 'event_retracted')
  AND (:since = '' OR c.recorded_at >= :since)
  AND (:until = '' OR substr(c.recorded_at, 1, length(:until)) <= :until)
  AND (:clerk = '' OR c.recorded_by = :clerk)
ORDER BY c.position DESC""",
    },
}

#: The table each query's rows come from: its columns take that table's labels on the page.
SOURCES = {
    "rates_by_agency": "yearly_figures", "silent_heads": "appearance_units",
    "recommendations_expected": "appearance_units", "losses_and_reversals": "outcomes",
    "reconsideration_without_head": "defendant_units", "rates_by_level": "yearly_figures",
    "case_trail": "events", "corrections": "events",
}


def agency_parameter(value: object) -> str:
    """An agency parameter as agency names are stored (``events.agency_name``); empty means any agency."""
    try:
        return ev.agency_name(value)
    except (ValueError, TypeError):  # nothing, or what no agency is named: it matches no row
        return "" if not isinstance(value, str) or not value.strip() else value


def register(conn: sqlite3.Connection) -> None:
    """The SQL functions the canned queries call."""
    conn.create_function("caselog_agency", 1, agency_parameter, deterministic=True)
