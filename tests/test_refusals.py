"""What the clerk commands refuse (docs/domain.md "What the log refuses"), and the
nearby variants they must accept.

Every refusal is checked against one contract (``conftest.check_refusal``):
exit status 1 (2 for a click usage error), no traceback, no exception other
than SystemExit, nothing on stdout, exactly one ``Error: ...`` line on stderr
that names the problem, and an ``export`` byte-identical before and after.

Keywords the error line must contain (lower-cased; ``a|b`` means either one).
Implementers: a message passes when it uses these words.

    never filed|not filed|not been filed   event on a case that was never filed
                                            (after a retracted filing also: retracted)
    already filed                          case_filed twice
    before                                 date before filed_on / before the appeal
    today|future                           date after today
    date                                   malformed or impossible date
    case number  + 行初                    malformed case number, showing the expected form
    行终                                   appeal_case not a 行终/行赔终 number
    spoke                                  spoke missing for a head / given for a non-head
    disposition                            reversed without, or non-reversed with, a disposition
    conclu|decided                         first hearing after the standing conclusion
    conclu                                 no standing first-instance conclusion
    remand|already                         a second conclusion without a remand
    appeal                                 second hearing without an appeal, a further appeal
    pending|appeal                         retrial while an appeal is pending
    pending|no appeal                      appeal decision without a pending appeal
    attendance|cause|disposition|result|excuse|level|appellant
                                           unknown enum value (the field's name)
    unknown event                          correction/retraction of an unknown event id
    reason                                 correction/retraction without a reason
    change|--set                           correction with no changes
    <the field name>                       correction of case, type, an envelope key, or
                                           a field the target's type does not have
    correction|event_corrected             correcting/retracting a correction
    retraction|event_retracted|retracted   correcting/retracting a retraction
    retracted                              correcting/retracting a retracted event
    stand|still|other event|remain         retracting case_filed while the case has events
    another clerk                          stale --expect-version (lower than the case's)
    version|another clerk                  --expect-version that does not match otherwise
"""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import TODAY, TOMORROW, CaseLog, check_refusal
from caselog.events import CAUSES, DISPOSITIONS

C = "(2022)浙0302行初123号"  # the case most histories are about
D = "(2022)浙0302行初124号"  # another case
N = "(2022)浙0302行初999号"  # never filed
NAMES = {
    "C": C,
    "D": D,
    "N": N,
    "AC": "(2022)浙03行终45号",
    "AC2": "(2023)浙03行终7号",
    "FILE": "--court 鹿城区人民法院 --agency 区人民政府 --cause 行政处罚",
    "TODAY": TODAY.isoformat(),
    "TOMORROW": TOMORROW.isoformat(),
    "NOWCASE": f"({TOMORROW.year})浙0302行初1号",
    "UNKNOWN": str(uuid.uuid4()),
}

# Keyword groups (see the module docstring).
NOT_FILED = "never filed|not filed|not been filed"
ALREADY_FILED = "already filed"
BEFORE = "before"
FUTURE = "today|future"
DATE = "date"
SPOKE = "spoke"
DISPOSITION = "disposition"
AFTER_CONCLUSION = "conclu|decided"
NO_CONCLUSION = "conclu"
NO_REMAND = "remand|already"
APPEAL = "appeal"
PENDING = "pending|appeal"
NOT_PENDING = "pending|no appeal"
UNKNOWN_EVENT = "unknown event"
REASON = "reason"
CHANGES = "change|--set"
CORRECTION = "correction|event_corrected"
RETRACTION = "retraction|event_retracted|retracted"
RETRACTED = "retracted"
STANDS = "stand|still|other event|remain"
STALE = "another clerk"
VERSION = "version|another clerk"
CASE_NUMBER = "case number"

# Histories, built through the CLI; "x = ..." names an event for later "{x}".
FILED = ("f = file {C} --filed-on 2022-03-01 {FILE}",)
HEARD = FILED + ("h = hearing {C} --held-on 2022-05-10 --attendance deputy --official 王某 --title 副区长 --spoke",)
STAFF_HEARD = FILED + ("h = hearing {C} --held-on 2022-05-10 --attendance staff --official 李某",)
CONCLUDED = HEARD + ("c = conclude {C} --decided-on 2022-08-01 --disposition revoked",)
APPEALED = CONCLUDED + ("a = appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant agency",)


def decided(result: str) -> tuple[str, ...]:
    extra = " --disposition claims_dismissed" if result == "reversed" else ""
    return APPEALED + (f"d = appeal-decision {{C}} --decided-on 2022-11-20 --result {result}{extra}",)


UPHELD, REVERSED, WITHDRAWN, REMANDED = (decided(r) for r in ("upheld", "reversed", "withdrawn", "remanded"))
RECONCLUDED = REMANDED + ("c2 = conclude {C} --decided-on 2023-03-01 --disposition claims_dismissed",)
CORRECTED = HEARD + ("k = correct {h} --set official=李某 --reason 录入有误",)
RETRACTED_HEARING = HEARD + ("r = retract {h} --reason 重复录入",)
UNFILED = STAFF_HEARD + ("rh = retract {h} --reason 误录", "rf = retract {f} --reason 误录")


@pytest.fixture
def log(history) -> CaseLog:
    return history(FILED, NAMES)


def R(id: str, steps: tuple[str, ...], command: str, *keywords: str, code: int | tuple[int, ...] = 1):
    return pytest.param(steps, command, keywords, code, id=id)


HEARING = "hearing {C} --held-on 2022-05-10 --attendance staff"

REFUSALS = [
    # --- a case must be filed once ---------------------------------------------------
    R("hearing on a case never filed", FILED, "hearing {N} --held-on 2022-05-10 --attendance staff", NOT_FILED),
    R("conclusion of a case never filed", FILED, "conclude {N} --decided-on 2022-08-01 --disposition revoked", NOT_FILED),
    R("appeal of a case never filed", FILED, "appeal {N} --filed-on 2022-08-15 --appeal-case {AC} --appellant agency", NOT_FILED),
    R("appeal decision on a case never filed", FILED, "appeal-decision {N} --decided-on 2022-11-20 --result upheld", NOT_FILED),
    R("retrial decision on a case never filed", FILED, "retrial-decision {N} --decided-on 2022-11-20 --result upheld", NOT_FILED),
    R("hearing on a case whose filing was retracted", UNFILED, "hearing {C} --held-on 2022-05-11 --attendance staff", NOT_FILED + "|retracted"),
    R("case_filed twice", FILED, "file {C} --filed-on 2022-03-01 {FILE}", ALREADY_FILED),
    R("case_filed twice with another date", HEARD, "file {C} --filed-on 2022-04-01 {FILE}", ALREADY_FILED),
    R("case_filed twice, second time with full-width parentheses", FILED, "file （2022）浙0302行初123号 --filed-on 2022-03-01 {FILE}", ALREADY_FILED),
    # --- business dates: not before filed_on, not after today -------------------------
    R("hearing before filed_on", FILED, "hearing {C} --held-on 2022-02-28 --attendance staff", BEFORE),
    R("conclusion before filed_on", FILED, "conclude {C} --decided-on 2022-02-01 --disposition revoked", BEFORE),
    R("appeal before filed_on", CONCLUDED, "appeal {C} --filed-on 2022-01-15 --appeal-case {AC} --appellant agency", f"{BEFORE}|conclu"),
    R("retrial decision before filed_on", CONCLUDED, "retrial-decision {C} --decided-on 2022-02-01 --result upheld", f"{BEFORE}|conclu"),
    R("filing dated tomorrow", FILED, "file {NOWCASE} --filed-on {TOMORROW} {FILE}", FUTURE),
    R("filing dated 2999", FILED, "file (2999)浙0302行初1号 --filed-on 2999-01-01 {FILE}", FUTURE),
    R("hearing dated tomorrow", FILED, "hearing {C} --held-on {TOMORROW} --attendance staff", FUTURE),
    R("conclusion dated tomorrow", HEARD, "conclude {C} --decided-on {TOMORROW} --disposition revoked", FUTURE),
    R("appeal dated tomorrow", CONCLUDED, "appeal {C} --filed-on {TOMORROW} --appeal-case {AC} --appellant agency", FUTURE),
    R("appeal decision dated tomorrow", APPEALED, "appeal-decision {C} --decided-on {TOMORROW} --result upheld", FUTURE),
    R("retrial decision dated tomorrow", CONCLUDED, "retrial-decision {C} --decided-on {TOMORROW} --result upheld", FUTURE),
    # --- malformed and impossible dates ----------------------------------------------
    *[
        R(f"malformed held_on: {why}", FILED, f"hearing {{C}} --held-on '{bad}' --attendance staff", DATE)
        for bad, why in (
            ("2022/05-10", "two separators"),
            ("2022年5月10", "no final ri"),
            ("10-05-2022", "day first"),
            ("20220510", "no dashes"),
            ("yesterday", "a word"),
            ("2022-05-10T09:00", "a timestamp"),
            ("", "empty"),
            ("२०२२-05-10", "another script's digits"),
        )
    ],
    *[
        R(f"impossible held_on {bad}", FILED, f"hearing {{C}} --held-on {bad} --attendance staff", DATE)
        for bad in ("2022-02-30", "2022-13-01", "2022-00-10", "2022-04-31", "2021-02-29", "2022-05-00")
    ],
    R("malformed filed_on", FILED, "file {N} --filed-on 01.03.2022 {FILE}", DATE),
    R("impossible filed_on", FILED, "file {N} --filed-on 2022-02-29 {FILE}", DATE),
    R("malformed decided_on of a conclusion", HEARD, "conclude {C} --decided-on 2022-08 --disposition revoked", DATE),
    R("malformed filed_on of an appeal", CONCLUDED, "appeal {C} --filed-on 15/08/2022 --appeal-case {AC} --appellant agency", DATE),
    R("impossible decided_on of an appeal decision", APPEALED, "appeal-decision {C} --decided-on 2022-11-31 --result upheld", DATE),
    R("impossible decided_on of a retrial decision", CONCLUDED, "retrial-decision {C} --decided-on 2023-02-29 --result upheld", DATE),
    # --- malformed case numbers (the message shows the expected form) -----------------
    *[
        R(f"malformed case number: {why}", FILED, f"file '{bad}' --filed-on 2022-03-01 {{FILE}}", CASE_NUMBER, "行初")
        for bad, why in (
            ("2022浙0302行初123号", "no parentheses"),
            ("[2022]浙0302行初123号", "square brackets"),
            ("(22)浙0302行初123号", "two-digit year"),
            ("(2022)浙0302行初123", "no final hao"),
            ("(2022)浙0302行初号", "no serial"),
            ("(2022)0302行初123号", "no court character"),
            ("(2022)浙江0302行初123号", "two Han characters in the court code"),
            ("(2022)ZJ0302行初123号", "Latin court code"),
            ("(2022)浙0302民初123号", "a civil type code"),
            ("(2022)浙03行终45号", "an appeal number as the stream key"),
            ("(2022)浙0302行初123号 之一", "trailing text"),
            ("", "empty"),
        )
    ],
    R("hearing on a malformed case number", FILED, "hearing 2022浙0302行初123号 --held-on 2022-05-10 --attendance staff", CASE_NUMBER, "行初"),
    *[
        R(f"appeal_case is not a xingzhong number: {why}", CONCLUDED, f"appeal {{C}} --filed-on 2022-08-15 --appeal-case '{bad}' --appellant agency", "行终")
        for bad, why in (
            ("(2022)浙03行初45号", "a first-instance code"),
            ("(2022)浙03民终45号", "a civil appeal"),
            ("(2022)浙03行申45号", "a retrial application"),
            ("行终45号", "no year or court"),
            ("", "empty"),
        )
    ],
    # --- hearings and levels ---------------------------------------------------------
    R("first hearing after the standing conclusion", CONCLUDED, "hearing {C} --held-on 2022-08-02 --attendance staff", AFTER_CONCLUSION),
    R("first hearing after the conclusion, before the remand", REMANDED, "hearing {C} --held-on 2022-09-01 --attendance staff", AFTER_CONCLUSION),
    R("second hearing without an appeal", HEARD, "hearing {C} --held-on 2022-06-01 --level second --attendance staff", APPEAL),
    R("second hearing after a conclusion but no appeal", CONCLUDED, "hearing {C} --held-on 2022-09-01 --level second --attendance staff", APPEAL),
    R("second hearing before the appeal was filed", APPEALED, "hearing {C} --held-on 2022-08-10 --level second --attendance staff", APPEAL),
    R("second hearing after the appeal was decided", UPHELD, "hearing {C} --held-on 2022-11-21 --level second --attendance staff", "appeal|decided|after"),
    R("retrial hearing without a conclusion", HEARD, "hearing {C} --held-on 2022-06-01 --level retrial --attendance staff", NO_CONCLUSION),
    R("retrial hearing while an appeal is pending", APPEALED, "hearing {C} --held-on 2022-09-01 --level retrial --attendance staff", PENDING),
    R("retrial hearing after a remand, before a new conclusion", REMANDED, "hearing {C} --held-on 2022-12-01 --level retrial --attendance staff", NO_CONCLUSION),
    # --- conclusions -----------------------------------------------------------------
    R("second conclusion without a remand", CONCLUDED, "conclude {C} --decided-on 2022-09-01 --disposition claims_dismissed", NO_REMAND),
    R("second conclusion while the appeal is pending", APPEALED, "conclude {C} --decided-on 2022-09-01 --disposition claims_dismissed", NO_REMAND + "|pending"),
    R("second conclusion after an upheld appeal", UPHELD, "conclude {C} --decided-on 2022-12-01 --disposition claims_dismissed", NO_REMAND),
    R("second conclusion dated before the remand", REMANDED, "conclude {C} --decided-on 2022-10-01 --disposition claims_dismissed", NO_REMAND + "|appeal"),
    # --- appeals ---------------------------------------------------------------------
    R("appeal without a conclusion", HEARD, "appeal {C} --filed-on 2022-06-01 --appeal-case {AC} --appellant agency", NO_CONCLUSION),
    R("appeal dated before the conclusion", CONCLUDED, "appeal {C} --filed-on 2022-07-20 --appeal-case {AC} --appellant agency", f"{NO_CONCLUSION}|{BEFORE}"),
    R("appeal while an earlier appeal is pending", APPEALED, "appeal {C} --filed-on 2022-08-20 --appeal-case {AC2} --appellant plaintiff", APPEAL, "pending|already"),
    *[
        R(f"appeal after an appeal decided {name}", steps, "appeal {C} --filed-on 2022-12-01 --appeal-case {AC2} --appellant plaintiff", APPEAL)
        for name, steps in (("upheld", UPHELD), ("reversed", REVERSED), ("withdrawn", WITHDRAWN))
    ],
    R("appeal after a remand, before a new conclusion", REMANDED, "appeal {C} --filed-on 2022-12-01 --appeal-case {AC2} --appellant plaintiff", NO_CONCLUSION),
    R("second appeal dated before the new conclusion", RECONCLUDED, "appeal {C} --filed-on 2023-02-01 --appeal-case {AC2} --appellant plaintiff", f"{NO_CONCLUSION}|{BEFORE}"),
    # --- appeal and retrial decisions ------------------------------------------------
    R("appeal decision without any appeal", CONCLUDED, "appeal-decision {C} --decided-on 2022-09-01 --result upheld", NOT_PENDING),
    R("appeal decision after the appeal was decided", UPHELD, "appeal-decision {C} --decided-on 2022-12-01 --result upheld", NOT_PENDING + "|already"),
    R("appeal decision dated before the appeal", APPEALED, "appeal-decision {C} --decided-on 2022-08-10 --result upheld", f"{BEFORE}|{NOT_PENDING}"),
    R("appeal reversed without a disposition", APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result reversed", DISPOSITION),
    *[
        R(f"appeal {result} with a disposition", APPEALED, f"appeal-decision {{C}} --decided-on 2022-11-20 --result {result} --disposition revoked", DISPOSITION)
        for result in ("upheld", "remanded", "withdrawn")
    ],
    R("retrial decision without a conclusion", HEARD, "retrial-decision {C} --decided-on 2022-09-01 --result upheld", NO_CONCLUSION),
    R("retrial decision dated before the conclusion", CONCLUDED, "retrial-decision {C} --decided-on 2022-07-01 --result upheld", f"{NO_CONCLUSION}|{BEFORE}"),
    R("retrial decision while an appeal is pending", APPEALED, "retrial-decision {C} --decided-on 2022-09-01 --result upheld", PENDING),
    R("retrial decision after a remand, before a new conclusion", REMANDED, "retrial-decision {C} --decided-on 2022-12-01 --result upheld", NO_CONCLUSION),
    R("retrial reversed without a disposition", CONCLUDED, "retrial-decision {C} --decided-on 2023-01-10 --result reversed", DISPOSITION),
    *[
        R(f"retrial {result} with a disposition", CONCLUDED, f"retrial-decision {{C}} --decided-on 2023-01-10 --result {result} --disposition claims_dismissed", DISPOSITION)
        for result in ("upheld", "remanded", "withdrawn")
    ],
    # --- spoke -------------------------------------------------------------------------
    *[
        R(f"{head} attended without --spoke/--silent", FILED, f"hearing {{C}} --held-on 2022-05-10 --attendance {head}", SPOKE)
        for head in ("principal", "deputy", "other_head")
    ],
    *[
        R(f"{flag} given when {other} attended", FILED, f"hearing {{C}} --held-on 2022-05-10 --attendance {other} {flag}", SPOKE)
        for other in ("staff", "lawyer_only", "none")
        for flag in ("--spoke", "--silent")
    ],
    # --- unknown words (English, Chinese labels and short forms are read: tests/test_clerk_words.py)
    R("unknown attendance", FILED, "hearing {C} --held-on 2022-05-10 --attendance boss", "attendance"),
    R("attendance in Chinese that is no attendance", FILED, "hearing {C} --held-on 2022-05-10 --attendance 局长 --spoke", "attendance"),
    R("unknown excuse", FILED, "hearing {C} --held-on 2022-05-10 --attendance staff --excuse sick", "excuse"),
    R("unknown level", FILED, "hearing {C} --held-on 2022-05-10 --level appeal --attendance staff", "level"),
    R("unknown cause", FILED, "file {N} --filed-on 2022-03-01 --court 某法院 --agency 某局 --cause 民事纠纷", "cause"),
    R("cause in English", FILED, "file {N} --filed-on 2022-03-01 --court 某法院 --agency 某局 --cause penalty", "cause"),
    R("unknown disposition", HEARD, "conclude {C} --decided-on 2022-08-01 --disposition won", "disposition"),
    R("unknown appellant", CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant court", "appellant"),
    R("unknown appeal result", APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result affirmed", "result"),
    R("unknown disposition of a reversal", APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result reversed --disposition won", "disposition"),
    R("unknown retrial result", CONCLUDED, "retrial-decision {C} --decided-on 2023-01-10 --result quashed", "result"),
    R("empty court", FILED, "file {N} --filed-on 2022-03-01 --court '' --agency 某局 --cause 行政处罚", "--court"),
    R("empty agency", FILED, "file {N} --filed-on 2022-03-01 --court 某法院 --agency '  ' --cause 行政处罚", "--agency"),
    # --- missing required options: click usage errors ------------------------------------
    R("hearing without --attendance", FILED, "hearing {C} --held-on 2022-05-10", "attendance", code=2),
    R("hearing without --held-on", FILED, "hearing {C} --attendance staff", "held-on", code=2),
    R("filing without --cause", FILED, "file {N} --filed-on 2022-03-01 --court 某法院 --agency 某局", "cause", code=2),
    R("conclusion without --disposition", HEARD, "conclude {C} --decided-on 2022-08-01", "disposition", code=2),
    R("appeal without --appellant", CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case {AC}", "appellant", code=2),
    R("appeal decision without --result", APPEALED, "appeal-decision {C} --decided-on 2022-11-20", "result", code=2),
    # --- corrections and retractions: targets --------------------------------------------
    R("correction of an unknown event", FILED, "correct {UNKNOWN} --set court=某法院 --reason 录入有误", UNKNOWN_EVENT),
    R("retraction of an unknown event", FILED, "retract {UNKNOWN} --reason 误录", UNKNOWN_EVENT),
    R("correction of a malformed event id", FILED, "correct not-an-id --set court=某法院 --reason 录入有误", "unknown event|event id|event_id|uuid"),
    R("correction of a correction", CORRECTED, "correct {k} --set reason=另改 --reason 录入有误", CORRECTION),
    R("retraction of a correction", CORRECTED, "retract {k} --reason 误录", CORRECTION),
    R("retraction of a retraction", RETRACTED_HEARING, "retract {r} --reason 误录", RETRACTION),
    R("correction of a retraction", RETRACTED_HEARING, "correct {r} --set reason=另改 --reason 录入有误", RETRACTION),
    R("correction of a retracted event", RETRACTED_HEARING, "correct {h} --set official=李某 --reason 录入有误", RETRACTED),
    R("retraction of a retracted event", RETRACTED_HEARING, "retract {h} --reason 再次撤回", RETRACTED),
    R("retraction of case_filed while a hearing stands", HEARD, "retract {f} --reason 误录", STANDS),
    R("retraction of case_filed while a conclusion stands", CONCLUDED, "retract {f} --reason 误录", STANDS),
    # --- corrections and retractions: reason and changes ---------------------------------
    R("correction without --reason", HEARD, "correct {h} --set official=李某", REASON, code=2),
    R("correction with an empty reason", HEARD, "correct {h} --set official=李某 --reason ''", REASON),
    R("correction with a blank reason", HEARD, "correct {h} --set official=李某 --reason '   '", REASON),
    R("retraction without --reason", HEARD, "retract {h}", REASON, code=2),
    R("retraction with an empty reason", HEARD, "retract {h} --reason ''", REASON),
    R("correction with no changes", HEARD, "correct {h} --reason 录入有误", CHANGES, code=(1, 2)),
    R("--set without '='", HEARD, "correct {h} --set official --reason 录入有误", "=", code=(1, 2)),
    R("correction of an unknown field", HEARD, "correct {h} --set colour=red --reason 录入有误", "colour"),
    R("correction of a field of another event type", HEARD, "correct {h} --set filed_on=2022-03-01 --reason 录入有误", "filed_on"),
    R("correction setting case", HEARD, "correct {h} --set case={D} --reason 录入有误", "case"),
    R("correction setting case of the filing", HEARD, "correct {f} --set case={D} --reason 录入有误", "case"),
    R("correction setting type", HEARD, "correct {h} --set type=case_concluded --reason 录入有误", "type"),
    *[
        R(f"correction setting the envelope key {key}", HEARD, f"correct {{h}} --set {key}={value} --reason 录入有误", key)
        for key, value in (
            ("event_id", "{UNKNOWN}"),
            ("recorded_at", "2022-05-11T00:00:00Z"),
            ("recorded_by", "clerk-x"),
            ("version", "9"),
            ("position", "1"),
            ("hash", "00"),
            ("payload_sha256", "00"),
            ("schema_version", "2"),
        )
    ],
    # --- corrections and retractions whose result breaks a rule --------------------------
    R("correction moving a hearing before filed_on", HEARD, "correct {h} --set held_on=2022-02-01 --reason 录入有误", BEFORE),
    R("correction moving a hearing after today", HEARD, "correct {h} --set held_on={TOMORROW} --reason 录入有误", FUTURE),
    R("correction to a malformed date", HEARD, "correct {h} --set held_on=2022_05_10 --reason 录入有误", DATE),
    R("correction to an impossible date", HEARD, "correct {h} --set held_on=2022-02-30 --reason 录入有误", DATE),
    R("correction removing a required field", HEARD, "correct {h} --set held_on= --reason 录入有误", "held_on"),
    R("correction deputy->staff keeping spoke", HEARD, "correct {h} --set attendance=staff --reason 录入有误", SPOKE),
    R("correction removing spoke from a head", HEARD, "correct {h} --set spoke= --reason 录入有误", SPOKE),
    R("correction of spoke to a non-boolean", HEARD, "correct {h} --set spoke=maybe --reason 录入有误", SPOKE, code=(1, 2)),
    R("correction staff->principal without spoke", STAFF_HEARD, "correct {h} --set attendance=principal --reason 录入有误", SPOKE),
    R("correction giving spoke to staff", STAFF_HEARD, "correct {h} --set spoke=true --reason 录入有误", SPOKE),
    R("correction to an unknown attendance", HEARD, "correct {h} --set attendance=boss --reason 录入有误", "attendance"),
    R("correction to an unknown level", HEARD, "correct {h} --set level=fourth --reason 录入有误", "level"),
    R("correction making a hearing second without an appeal", HEARD, "correct {h} --set level=second --reason 录入有误", APPEAL),
    R("correction of filed_on after a hearing", HEARD, "correct {f} --set filed_on=2022-06-01 --reason 录入有误", BEFORE),
    R("correction of filed_on to tomorrow", HEARD, "correct {f} --set filed_on={TOMORROW} --reason 录入有误", FUTURE),
    R("correction to an unknown cause", HEARD, "correct {f} --set cause=民事纠纷 --reason 录入有误", "cause"),
    R("correction moving the conclusion before a first hearing", CONCLUDED, "correct {c} --set decided_on=2022-05-01 --reason 录入有误", AFTER_CONCLUSION),
    R("correction to an unknown disposition", CONCLUDED, "correct {c} --set disposition=won --reason 录入有误", DISPOSITION),
    R("correction moving the appeal before the conclusion", APPEALED, "correct {a} --set filed_on=2022-07-01 --reason 录入有误", f"{NO_CONCLUSION}|{BEFORE}"),
    R("correction of appeal_case to a first-instance number", APPEALED, "correct {a} --set appeal_case=(2022)浙03行初45号 --reason 录入有误", "行终"),
    R("correction to an unknown appellant", APPEALED, "correct {a} --set appellant=court --reason 录入有误", "appellant"),
    R("correction upheld->reversed without a disposition", UPHELD, "correct {d} --set result=reversed --reason 录入有误", DISPOSITION),
    R("correction reversed->upheld keeping the disposition", REVERSED, "correct {d} --set result=upheld --reason 录入有误", DISPOSITION),
    R("correction adding a disposition to an upheld appeal", UPHELD, "correct {d} --set disposition=revoked --reason 录入有误", DISPOSITION),
    R("correction moving the appeal decision before the appeal", UPHELD, "correct {d} --set decided_on=2022-08-10 --reason 录入有误", f"{BEFORE}|{NOT_PENDING}"),
    R("retraction of the conclusion an appeal rests on", APPEALED, "retract {c} --reason 误录", NO_CONCLUSION),
    R("retraction of an appeal that was decided", UPHELD, "retract {a} --reason 误录", NOT_PENDING + "|appeal"),
    R("retraction of the remand a new conclusion rests on", RECONCLUDED, "retract {d} --reason 误录", NO_REMAND),
    # --- optimistic concurrency ---------------------------------------------------------
    R("stale --expect-version (another clerk wrote first)", FILED, HEARING + " --expect-version 0", STALE),
    R("stale --expect-version on a longer history", APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result upheld --expect-version 3", STALE),
    R("--expect-version ahead of the case", FILED, HEARING + " --expect-version 5", VERSION),
    R("new case filed expecting version 1", FILED, "file {N} --filed-on 2022-03-01 {FILE} --expect-version 1", VERSION),
    R("stale --expect-version on a correction", HEARD, "correct {h} --set official=李某 --reason 录入有误 --expect-version 1", STALE),
    R("stale --expect-version on a retraction", HEARD, "retract {h} --reason 误录 --expect-version 1", STALE),
    R("--expect-version not a number", FILED, HEARING + " --expect-version two", "expect-version", code=2),
]


@pytest.mark.parametrize("steps, command, keywords, code", REFUSALS)
def test_refused(history, steps, command, keywords, code):
    """Each command is refused with its rule named, and nothing is written."""
    history(steps, NAMES).refuses(command, *keywords, code=code)


def test_refused_on_an_empty_log(tmp_path):
    """An event on a case never filed is refused on a brand-new database too."""
    log = CaseLog(tmp_path / "new.db", NAMES)
    _, tokens = log.args(HEARING)
    check_refusal(log.invoke(*tokens), [NOT_FILED])
    assert log.export() == b""


def test_two_clerks_the_second_is_refused(log):
    """Both clerks read version 1; the first append wins, the second is stale."""
    log.do(HEARING + " --expect-version 1", clerk="clerk-a")
    log.refuses("hearing {C} --held-on 2022-05-11 --attendance none --expect-version 1", STALE)
    log.do("hearing {C} --held-on 2022-05-11 --attendance none --expect-version 2", clerk="clerk-b")


A = R  # the same shape: steps, then the command that must be accepted

ACCEPTED = [
    A("first hearing on the day of the conclusion", CONCLUDED, "hearing {C} --held-on 2022-08-01 --attendance staff"),
    A("hearing logged after the conclusion, held before it", CONCLUDED, "hearing {C} --held-on 2022-04-01 --attendance none"),
    A("conclusion logged before the hearing it follows", FILED + ("conclude {C} --decided-on 2022-08-01 --disposition revoked",), "hearing {C} --held-on 2022-05-10 --attendance principal --silent"),
    A("filing logged late, after an unrelated case", FILED, "file {D} --filed-on 2021-12-01 {FILE}"),
    A("second hearing logged after the decision, held before it", UPHELD, "hearing {C} --held-on 2022-10-01 --level second --attendance deputy --spoke"),
    A("second hearing on the day the appeal was filed", APPEALED, "hearing {C} --held-on 2022-08-15 --level second --attendance staff"),
    A("second hearing on the day the appeal was decided", UPHELD, "hearing {C} --held-on 2022-11-20 --level second --attendance staff"),
    A("appeal filed on the day of the conclusion", CONCLUDED, "appeal {C} --filed-on 2022-08-01 --appeal-case {AC} --appellant plaintiff"),
    A("appeal by both parties", CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant both"),
    A("appeal decided on the day it was filed", APPEALED, "appeal-decision {C} --decided-on 2022-08-15 --result withdrawn"),
    A("appeal reversed with a disposition", APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result reversed --disposition claims_dismissed"),
    *[
        A(f"appeal {result} without a disposition", APPEALED, f"appeal-decision {{C}} --decided-on 2022-11-20 --result {result}")
        for result in ("upheld", "remanded", "withdrawn")
    ],
    A("first hearing after a remand", REMANDED, "hearing {C} --held-on 2022-12-10 --attendance principal --spoke"),
    A("new conclusion after a remand", REMANDED, "conclude {C} --decided-on 2023-03-01 --disposition claims_dismissed"),
    A("second appeal after a remand and a new conclusion", RECONCLUDED, "appeal {C} --filed-on 2023-03-10 --appeal-case {AC2} --appellant plaintiff"),
    A("retrial hearing after an upheld appeal", UPHELD, "hearing {C} --held-on 2023-01-10 --level retrial --attendance deputy --spoke"),
    A("retrial decision after an upheld appeal", UPHELD, "retrial-decision {C} --decided-on 2023-02-01 --result reversed --disposition claims_dismissed"),
    A("retrial decision after a reversed appeal", REVERSED, "retrial-decision {C} --decided-on 2023-02-01 --result remanded"),
    A("retrial decision with no appeal", CONCLUDED, "retrial-decision {C} --decided-on 2023-02-01 --result upheld"),
    A("retrial hearing with no appeal", CONCLUDED, "hearing {C} --held-on 2023-01-10 --level retrial --attendance staff --excuse accident"),
    A("head attended and stayed silent", FILED, "hearing {C} --held-on 2022-05-10 --attendance principal --silent --official 赵某 --title 区长"),
    A("other head attended and spoke", FILED, "hearing {C} --held-on 2022-05-10 --attendance other_head --spoke"),
    *[
        A(f"staff attended with the excuse {excuse}", FILED, f"hearing {{C}} --held-on 2022-05-10 --attendance staff --excuse {excuse}")
        for excuse in ("force_majeure", "accident", "official_duty", "other")
    ],
    A("only a lawyer attended", FILED, "hearing {C} --held-on 2022-05-10 --attendance lawyer_only"),
    A("nobody attended", FILED, "hearing {C} --held-on 2022-05-10 --attendance none"),
    A("level first given explicitly", FILED, "hearing {C} --held-on 2022-05-10 --level first --attendance staff"),
    A("hearing held on filed_on", FILED, "hearing {C} --held-on 2022-03-01 --attendance staff"),
    A("hearing held today", FILED, "hearing {C} --held-on {TODAY} --attendance staff"),
    A("case filed on 29 February of a leap year", FILED, "file (2020)浙0302行初7号 --filed-on 2020-02-29 {FILE}"),
    A("case number year differs from filed_on (a warning at most)", FILED, "file (2021)浙0302行初9号 --filed-on 2022-01-05 {FILE}"),
    A("plaintiff and field given", FILED, "file {D} --filed-on 2022-03-01 {FILE} --plaintiff 张某 --field 公安"),
    A("old-form case number", FILED, "file (2014)浙行初字第12号 --filed-on 2014-05-01 {FILE}"),
    A("old-form case number with a city", FILED, "file (2014)浙杭行初字第3号 --filed-on 2014-05-01 {FILE}"),
    A("xingpeichu (compensation) case number", FILED, "file (2022)浙0302行赔初5号 --filed-on 2022-03-01 --court 某法院 --agency 某局 --cause 行政赔偿"),
    A("hearing naming the case with full-width parentheses", FILED, "hearing （2022）浙0302行初123号 --held-on 2022-05-10 --attendance staff"),
    A("xingpeizhong (compensation) appeal case", CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case (2022)浙03行赔终45号 --appellant agency"),
    A("full-width appeal case number", CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case （2022）浙03行终45号 --appellant agency"),
    A("old-form appeal case number", CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case (2015)浙行终字第3号 --appellant agency"),
    A("retraction of the earliest hearing", HEARD + (HEARING.replace("05-10", "06-10"),), "retract {h} --reason 误录"),
    A("correction of a hearing's official", HEARD, "correct {h} --set official=李某 --reason 录入有误"),
    A("correction removing an optional field", HEARD, "correct {h} --set title= --reason 录入有误"),
    A("a second correction of the same event", CORRECTED, "correct {h} --set official=孙某 --reason 又录错"),
    A("retraction of a corrected event", CORRECTED, "retract {h} --reason 误录"),
    A("correction of a filing's agency", HEARD, "correct {f} --set agency=市人民政府 --reason 录入有误"),
    A("correction of a conclusion after a remand", RECONCLUDED, "correct {c2} --set disposition=revoked --reason 录入有误"),
    A("correction upheld->reversed with a disposition", UPHELD, "correct {d} --set result=reversed --set disposition=claims_dismissed --reason 录入有误"),
    A("correction reversed->upheld removing the disposition", REVERSED, "correct {d} --set result=upheld --set disposition= --reason 录入有误"),
    A("retraction of the new conclusion after a remand", RECONCLUDED, "retract {c2} --reason 误录"),
    A("correction with the right --expect-version given explicitly", HEARD, "correct {h} --set official=李某 --reason 录入有误 --expect-version 2"),
]


@pytest.mark.parametrize("steps, command, keywords, code", ACCEPTED)
def test_accepted(history, steps, command, keywords, code):
    """The accepted variants next to the refusals really are accepted and logged."""
    log = history(steps, NAMES)
    before = log.events()
    recorded = log.do(command)
    after = log.events()
    assert len(after) == len(before) + 1
    assert after[-1]["event_id"] == recorded["event_id"]


def test_json_output_names_the_recorded_event(log):
    """--json prints one object with the envelope of the recorded event."""
    recorded = log.do(HEARING)
    assert {"event_id", "case", "type", "version", "position", "recorded_at"} <= set(recorded)
    assert recorded["case"] == C and recorded["type"] == "hearing_held"
    assert recorded["event_id"] == log.events()[-1]["event_id"]


def test_full_width_parentheses_are_stored_half_width(log):
    """（2022）… is accepted and stored as (2022)…, also in appeal_case."""
    filed = log.do("file （2022）浙0302行初8号 --filed-on 2022-03-01 {FILE}")
    assert filed["case"] == "(2022)浙0302行初8号"
    log.do("hearing (2022)浙0302行初8号 --held-on 2022-05-10 --attendance staff")
    log.do("conclude （2022）浙0302行初8号 --decided-on 2022-08-01 --disposition revoked")
    log.do("appeal (2022)浙0302行初8号 --filed-on 2022-08-15 --appeal-case （2022）浙03行终46号 --appellant agency")
    events = [e for e in log.events() if e["case"] != C]
    assert [e["case"] for e in events] == ["(2022)浙0302行初8号"] * 4
    assert events[-1]["appeal_case"] == "(2022)浙03行终46号"
    assert "（" not in log.export().decode("utf-8")


def test_every_cause_and_disposition_is_accepted(log):
    """The 22 causes and 16 dispositions of docs/domain.md are all known."""
    for serial, cause in enumerate(CAUSES, start=1):
        log.do(f"file (2022)浙0302行初{serial}号 --filed-on 2022-03-01 --court 某法院 --agency 某局 --cause {cause}")
    for serial, disposition in enumerate(DISPOSITIONS, start=1):
        log.do(f"conclude (2022)浙0302行初{serial}号 --decided-on 2022-08-01 --disposition {disposition}")


def last_correction(log: CaseLog) -> dict:
    event = log.events()[-1]
    assert event["type"] == "event_corrected"
    return event


def test_deputy_to_staff_needs_spoke_removed(history):
    """deputy->staff is refused while spoke stays, accepted with --set spoke=."""
    log = history(HEARD, NAMES)
    log.refuses("correct {h} --set attendance=staff --reason 录入有误", SPOKE)
    log.do("correct {h} --set attendance=staff --set spoke= --reason 录入有误")
    correction = last_correction(log)
    assert correction["target"] == log.ids["h"]
    assert correction["changes"] == {"attendance": "staff", "spoke": None}
    assert correction["reason"] == "录入有误"


@pytest.mark.parametrize("text, value", [("true", True), ("false", False)])
def test_spoke_is_a_boolean_on_the_command_line(history, text, value):
    """--set spoke=true|false stores a JSON boolean, not a string."""
    log = history(STAFF_HEARD, NAMES)
    log.do(f"correct {{h}} --set attendance=deputy --set spoke={text} --reason 录入有误")
    assert last_correction(log)["changes"] == {"attendance": "deputy", "spoke": value}


def test_empty_set_removes_an_optional_field(history):
    """--set official= records null for official."""
    log = history(HEARD, NAMES)
    log.do("correct {h} --set official= --reason 录入有误")
    assert last_correction(log)["changes"] == {"official": None}


def test_filing_retracted_when_nothing_else_stands_then_filed_anew(history):
    """case_filed is retracted once its hearing is retracted; the case can be filed again."""
    log = history(STAFF_HEARD, NAMES)
    log.refuses("retract {f} --reason 误录", STANDS)
    log.do("retract {h} --reason 误录")
    log.do("retract {f} --reason 误录")
    log.refuses(HEARING, NOT_FILED + "|retracted")
    log.do("f2 = file {C} --filed-on 2022-03-02 {FILE}")
    log.do(HEARING)
    log.refuses("file {C} --filed-on 2022-03-02 {FILE}", ALREADY_FILED)
    types = [e["type"] for e in log.events() if e["case"] == C]
    assert types == ["case_filed", "hearing_held", "event_retracted", "event_retracted", "case_filed", "hearing_held"]


def test_versions_count_every_event_of_the_case(history):
    """--expect-version is the number of events of the case, corrections included."""
    log = history(CORRECTED, NAMES)
    assert log.versions[C] == 3
    log.refuses(HEARING + " --expect-version 2", STALE)
    log.do(HEARING + " --expect-version 3")
    log.do("file {D} --filed-on 2022-03-01 {FILE} --expect-version 0")


def test_export_is_json_lines_of_the_whole_envelope(history):
    """The export that refusals compare is one JSON object per line with the envelope."""
    log = history(CORRECTED, NAMES)
    events = log.events()
    assert [e["type"] for e in events] == ["case_filed", "hearing_held", "event_corrected"]
    for event in events:
        assert {"event_id", "case", "type", "recorded_at", "recorded_by", "version", "position"} <= set(event)
        assert event["recorded_by"] == "clerk-t"
    assert events[2]["target"] == events[1]["event_id"]
    assert json.loads(log.export().decode("utf-8").splitlines()[0]) == events[0]
