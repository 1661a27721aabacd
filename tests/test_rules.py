"""The rules on their own: given a case's logged events, when a new one comes, then it is refused
(RuleViolation, or ValueError for a value that is malformed in itself) or accepted.

One test per refusal of docs/domain.md ("What the log refuses"), with the nearby case the rules
must accept where a refusal has one.  No database: the events are built as ``events.Recorded``
values and handed to ``rules.decide`` the way the store hands them.  The refusals listed under
"The writer" need a log to compare with and are tested with one: a stale expected version
(test_refusals.py, test_concurrency.py), an import's envelope (test_import_refusals.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from caselog import events as ev
from caselog import rules
from caselog.errors import RuleViolation

CASE = "(2022)浙0302行初1号"
TODAY = dt.date(2023, 6, 30)


# --- given / when / then -----------------------------------------------------------------


def event_id(position: int) -> str:
    """The id of the event given at ``position`` (1 is the first)."""
    return ev.uuid_text(position)


def given(*events: ev.Event) -> list[ev.Recorded]:
    """A case's history as the store reads it back; it must itself break no rule."""
    history = [ev.Recorded(event, CASE, event_id(n), f"2023-01-01T00:{n // 60:02d}:{n % 60:02d}Z", "tester", n, n)
               for n, event in enumerate(events, 1)]
    rules.fold(CASE, history, TODAY.isoformat())
    return history


def when(history: list[ev.Recorded], event: ev.Event, today: dt.date | None = TODAY) -> rules.CaseState:
    """Decide the next event of the case, as the store does before it logs one."""
    position = len(history) + 1
    new = ev.Recorded(event, CASE, event_id(position), "2023-06-01T00:00:00Z", "tester", position, position)
    return rules.decide(rules.fold(CASE, history), new, lambda: history, today)


def refused(history: list[ev.Recorded], event: ev.Event, *words: str, today: dt.date | None = TODAY) -> str:
    """Then the rules refuse ``event`` with a message naming each of ``words``."""
    with pytest.raises(RuleViolation) as info:
        when(history, event, today)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


def invalid(type_: str, payload: dict, *words: str) -> None:
    """Then the event cannot even be built: its values are wrong whatever the case holds."""
    with pytest.raises(ValueError) as info:
        ev.make(type_, payload)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


# --- events, with the values of a plain case ----------------------------------------------


def filed(on: str = "2022-03-01") -> ev.Event:
    return ev.make("case_filed", {"filed_on": on, "court": "某某区人民法院", "agency": "市公安局", "cause": "行政处罚"})


def hearing(on: str, attendance: str = "deputy", level: str = "first", **extra) -> ev.Event:
    spoke = {"spoke": True} if attendance in ev.HEADS else {}
    return ev.make("hearing_held", {"held_on": on, "attendance": attendance, "level": level, **spoke, **extra})


def concluded(on: str, disposition: str = "revoked") -> ev.Event:
    return ev.make("case_concluded", {"decided_on": on, "disposition": disposition})


def appealed(on: str, number: str = "(2022)浙03行终1号") -> ev.Event:
    return ev.make("appeal_filed", {"filed_on": on, "appeal_case": number, "appellant": "agency"})


def decided(on: str, result: str = "upheld", disposition: str | None = None, kind: str = "appeal_decided") -> ev.Event:
    return ev.make(kind, {"decided_on": on, "result": result, **({"disposition": disposition} if disposition else {})})


def corrected(target: int, /, **changes) -> ev.Event:
    """A correction of the event given at position ``target``."""
    return ev.make("event_corrected", {"target": event_id(target), "changes": changes, "reason": "录入有误"})


def retracted(position: int) -> ev.Event:
    return ev.make("event_retracted", {"target": event_id(position), "reason": "重复录入"})


#: filed, heard, concluded: the history most rules start from.
CONCLUDED = (filed(), hearing("2022-05-10"), concluded("2022-08-01"))
#: ... and appealed, the appeal not yet decided.
ON_APPEAL = CONCLUDED + (appealed("2022-08-15"),)


# --- What is refused ----------------------------------------------------------------------


def test_an_event_on_a_case_never_filed():
    refused(given(), hearing("2022-05-10"), "never filed")


def test_case_filed_twice():
    refused(given(filed()), filed("2022-04-01"), "already filed", "2022-03-01")


def test_a_date_before_filing():
    refused(given(filed()), hearing("2022-02-28"), "before the case was filed on 2022-03-01")


def test_a_date_after_today():
    refused(given(filed()), hearing("2023-07-01"), "after today (2023-06-30)")
    assert when(given(filed()), hearing("2023-06-30")).max_date == "2023-06-30"


def test_today_is_the_machines_local_date_by_default():
    today = dt.date.today()
    history = given(filed())
    refused(history, hearing((today + dt.timedelta(days=1)).isoformat()), f"after today ({today})", today=None)
    assert when(history, hearing(today.isoformat()), today=None).max_date == today.isoformat()


def test_a_first_hearing_after_the_standing_conclusion():
    refused(given(*CONCLUDED), hearing("2022-08-02"), "after the case was concluded on 2022-08-01")


def test_a_first_hearing_on_the_day_of_the_conclusion_is_allowed():
    when(given(*CONCLUDED), hearing("2022-08-01"))


def test_after_a_remand_the_case_is_open_to_first_hearings_again():
    remanded = given(*ON_APPEAL, decided("2022-10-01", "remanded"))
    assert when(remanded, hearing("2022-11-01")).concluded_on is None


def test_a_second_hearing_without_an_appeal():
    refused(given(*CONCLUDED), hearing("2022-09-01", level="second"), "needs an appeal")


def test_a_second_hearing_before_the_appeal_was_filed():
    """Logged after the appeal but dated before it: the replay finds no appeal by then."""
    refused(given(*ON_APPEAL), hearing("2022-08-10", level="second"), "needs an appeal")


def test_a_second_hearing_after_the_appeal_was_decided_but_on_its_day_is_allowed():
    history = given(*ON_APPEAL, decided("2022-10-01"))
    refused(history, hearing("2022-10-02", level="second"), "was decided on 2022-10-01")
    when(history, hearing("2022-10-01", level="second"))


def test_an_appeal_without_a_standing_conclusion():
    refused(given(filed()), appealed("2022-08-15"), "needs a standing first-instance conclusion")


def test_an_appeal_filed_before_the_conclusion_it_appeals():
    refused(given(*CONCLUDED), appealed("2022-07-31"), "needs a standing first-instance conclusion")


def test_an_appeal_while_another_is_pending():
    refused(given(*ON_APPEAL), appealed("2022-08-20", "(2022)浙03行终2号"), "still pending")


@pytest.mark.parametrize("result, disposition", [("upheld", None), ("reversed", "claims_dismissed"), ("withdrawn", None)])
def test_a_decided_appeal_blocks_further_appeals(result, disposition):
    history = given(*ON_APPEAL, decided("2022-10-01", result, disposition))
    refused(history, appealed("2022-10-15", "(2022)浙03行终2号"), "already decided", "only a remand")


def test_a_remand_and_a_new_conclusion_open_the_way_to_a_new_appeal():
    remanded = (*ON_APPEAL, decided("2022-10-01", "remanded"))
    refused(given(*remanded), appealed("2022-10-15", "(2022)浙03行终2号"), "needs a standing first-instance conclusion")
    reconcluded = given(*remanded, concluded("2022-12-01"))
    assert when(reconcluded, appealed("2022-12-10", "(2022)浙03行终2号")).appeal.pending


def test_an_appeal_decision_without_a_pending_appeal():
    refused(given(*CONCLUDED), decided("2022-10-01"), "no pending appeal")
    refused(given(*ON_APPEAL, decided("2022-10-01")), decided("2022-10-05"), "no pending appeal")


def test_a_decision_dated_before_the_appeal_it_decides():
    """Logged after the appeal, dated between the conclusion and the appeal: nothing was pending then."""
    refused(given(*ON_APPEAL), decided("2022-08-10"), "no pending appeal to decide on that date")


def test_rules_compare_business_dates_not_the_order_of_logging():
    """A hearing logged after the conclusion but held before it is accepted; a conclusion logged
    late that would come before a logged hearing is refused, naming the hearing it would break."""
    when(given(*CONCLUDED), hearing("2022-07-01"))
    history = given(filed(), hearing("2022-05-10"), hearing("2022-09-01"))
    refused(history, concluded("2022-08-01"), "would break hearing_held", event_id(3))


def test_spoke_is_required_for_a_head_and_only_for_a_head():
    invalid("hearing_held", {"held_on": "2022-05-10", "attendance": "deputy"}, "spoke is required")
    invalid("hearing_held", {"held_on": "2022-05-10", "attendance": "staff", "spoke": False}, "spoke is only for a head")


def test_reversed_needs_a_disposition_and_only_reversed_takes_one():
    for kind in ("appeal_decided", "retrial_decided"):
        invalid(kind, {"decided_on": "2022-10-01", "result": "reversed"}, "needs the new disposition")
        invalid(kind, {"decided_on": "2022-10-01", "result": "upheld", "disposition": "revoked"}, "only when the result is reversed")


@pytest.mark.parametrize("type_, field, payload", [
    ("hearing_held", "attendance", {"held_on": "2022-05-10", "attendance": "head"}),
    ("hearing_held", "level", {"held_on": "2022-05-10", "attendance": "staff", "level": "third"}),
    ("hearing_held", "excuse", {"held_on": "2022-05-10", "attendance": "staff", "excuse": "busy"}),
    ("case_concluded", "disposition", {"decided_on": "2022-08-01", "disposition": "lost"}),
    ("appeal_decided", "result", {"decided_on": "2022-08-01", "result": "quashed"}),
    ("appeal_filed", "appellant", {"filed_on": "2022-08-15", "appeal_case": "(2022)浙03行终1号", "appellant": "court"}),
    ("case_filed", "cause", {"filed_on": "2022-03-01", "court": "某某区人民法院", "agency": "市公安局", "cause": "交通"}),
])
def test_unknown_enum_values(type_, field, payload):
    invalid(type_, payload, f"unknown {field}")


@pytest.mark.parametrize("value, words", [("2022-03-1x", "malformed date"), ("2022-02-30", "impossible date")])
def test_malformed_dates(value, words):
    invalid("case_concluded", {"decided_on": value, "disposition": "revoked"}, words)


@pytest.mark.parametrize("number", [
    "(2022)浙0302行初号",         # no serial
    "(2022)0302行初123号",         # no province character
    "(2022)浙浙0302行初123号",     # the new form's court code is one Han character and digits
    "(2022)浙0302行终123号",       # a second-instance number is not a case's stream
    "2022浙0302行初123号",         # no parentheses
])
def test_malformed_case_numbers_show_the_expected_form(number):
    with pytest.raises(ValueError, match=r"expected the form \(2022\)浙0302行初123号"):
        ev.case_number(number)


def test_case_numbers_in_both_forms_and_full_width_parentheses_are_accepted():
    assert ev.case_number("（2022）浙0302行初123号") == "(2022)浙0302行初123号"
    assert ev.case_number("(2022)浙0302行赔初7号") == "(2022)浙0302行赔初7号"
    assert ev.case_number("(2014)浙行初字第12号") == "(2014)浙行初字第12号"


def test_an_appeal_case_is_a_second_instance_number():
    invalid("appeal_filed", {"filed_on": "2022-08-15", "appeal_case": "(2022)浙03行初1号", "appellant": "agency"}, "行终")
    assert ev.make("appeal_filed", {"filed_on": "2022-08-15", "appeal_case": "(2022)浙03行赔终1号",
                                    "appellant": "agency"}).appeal_case == "(2022)浙03行赔终1号"


def test_a_correction_or_retraction_of_an_unknown_event():
    history = given(filed())
    refused(history, corrected(9, court="另一法院"), "unknown event", event_id(9))
    refused(history, retracted(9), "unknown event", event_id(9))


def test_a_correction_of_an_event_of_another_case():
    """The rules see one case's history: another case's event is not in it, so it is unknown here."""
    elsewhere = ev.Recorded(hearing("2022-05-10"), "(2022)浙0302行初2号", event_id(2), "2023-01-01T00:00:02Z", "t", 1, 2)
    history = given(filed())
    assert elsewhere.event_id not in {r.event_id for r in history}
    refused(history, corrected(2, held_on="2022-05-11"), "unknown event", f"in case {CASE}")


@pytest.mark.parametrize("change, words", [
    ({"held_on": "2022-09-01"}, ("would break", "after the case was concluded")),
    ({"level": "second"}, ("would break", "needs an appeal")),
    ({"held_on": "2022-02-01"}, ("would break", "before the case was filed")),
])
def test_a_correction_whose_result_would_break_a_rule(change, words):
    refused(given(*CONCLUDED), corrected(2, **change), *words)


def test_a_retraction_whose_result_would_break_a_rule():
    """Without its appeal the decision would decide nothing."""
    refused(given(*ON_APPEAL, decided("2022-10-01")), retracted(4), "would break appeal_decided", "no pending appeal")


def test_a_correction_or_retraction_without_a_reason():
    invalid("event_corrected", {"target": event_id(2), "changes": {"title": "局长"}}, "needs reason")
    invalid("event_corrected", {"target": event_id(2), "changes": {"title": "局长"}, "reason": " "}, "reason", "empty")
    invalid("event_retracted", {"target": event_id(2)}, "needs reason")


# --- Settled details: Refusals ------------------------------------------------------------


def test_changes_must_be_a_non_empty_object():
    for changes in ({}, ["title"], None):
        invalid("event_corrected", {"target": event_id(2), "changes": changes, "reason": "录入有误"}, "changes")


@pytest.mark.parametrize("field", ["case", "type", "event_id", "recorded_at", "recorded_by", "version", "position", "hash"])
def test_a_correction_cannot_change_the_case_the_type_or_the_envelope(field):
    refused(given(*CONCLUDED), corrected(2, **{field: "x"}), f"cannot change {field!r}")


def test_a_correction_changes_only_fields_of_the_targets_type():
    refused(given(*CONCLUDED), corrected(2, disposition="revoked"), "hearing_held has no field 'disposition'")


def test_null_removes_an_optional_field_but_not_a_required_one():
    history = given(filed(), hearing("2022-05-10", title="副局长"))
    when(history, corrected(2, title=None))
    refused(history, corrected(2, held_on=None), "would be invalid", "held_on")


def test_the_corrected_event_is_checked_again_so_a_deputy_turned_staff_needs_spoke_removed():
    history = given(*CONCLUDED)
    refused(history, corrected(2, attendance="staff"), "spoke is only for a head")
    when(history, corrected(2, attendance="staff", spoke=None))


def test_several_corrections_of_one_event_apply_in_log_order():
    history = given(filed(), hearing("2022-05-10"), corrected(2, held_on="2022-05-11"), corrected(2, held_on="2022-05-12"))
    [(_, _, hearing_now)] = [item for item in rules.effective(history) if item[2].TYPE == "hearing_held"]
    assert hearing_now.held_on == "2022-05-12"
    # ... so a third correction is checked against 05-12, not against what was logged.
    refused(history, corrected(2, attendance="staff"), "spoke is only for a head")


@pytest.mark.parametrize("meta", [corrected(2, held_on="2022-05-11"), retracted(2)], ids=["correction", "retraction"])
@pytest.mark.parametrize("make", [lambda: corrected(3, held_on="2022-05-13"), lambda: retracted(3)], ids=["corrected", "retracted"])
def test_corrections_and_retractions_cannot_be_corrected_or_retracted(meta, make):
    refused(given(filed(), hearing("2022-05-10"), meta), make(), "is itself a correction or retraction")


@pytest.mark.parametrize("make", [lambda: corrected(2, held_on="2022-05-11"), lambda: retracted(2)], ids=["corrected", "retracted"])
def test_a_retracted_event_cannot_be_corrected_or_retracted_again(make):
    refused(given(filed(), hearing("2022-05-10"), retracted(2)), make(), "is retracted")


def test_a_filing_is_retracted_only_when_nothing_else_of_the_case_stands():
    refused(given(filed(), hearing("2022-05-10")), retracted(1), "only when nothing else of the case stands", "1 event")
    history = given(filed(), hearing("2022-05-10"), retracted(2))
    assert when(history, retracted(1)).filed_on is None


def test_a_case_whose_filing_was_retracted_may_be_filed_anew_and_is_unfiled_until_then():
    history = given(filed(), retracted(1))
    refused(history, hearing("2022-05-10"), "never filed")
    assert when(history, filed("2022-03-05")).filed_on == "2022-03-05"


def test_a_second_conclusion_needs_a_remand_first():
    refused(given(*CONCLUDED), concluded("2022-09-01"), "already concluded on 2022-08-01", "remand")
    refused(given(*ON_APPEAL, decided("2022-10-01")), concluded("2022-11-01"), "already concluded")
    remanded = given(*ON_APPEAL, decided("2022-10-01", "remanded"))
    assert when(remanded, concluded("2022-11-01")).concluded_on == "2022-11-01"


@pytest.mark.parametrize("event", [decided("2022-10-01", kind="retrial_decided"), hearing("2022-10-01", level="retrial")],
                         ids=["retrial_decided", "retrial hearing"])
def test_a_retrial_needs_a_standing_conclusion_and_no_pending_appeal(event):
    refused(given(filed(), hearing("2022-05-10")), event, "needs a standing first-instance conclusion")
    refused(given(*ON_APPEAL), event, "while an appeal is pending")
    when(given(*ON_APPEAL, decided("2022-09-20")), event)


def test_a_remanding_retrial_reopens_the_case():
    history = given(*CONCLUDED)
    assert when(history, decided("2022-10-01", "remanded", kind="retrial_decided")).concluded_on is None


def test_unknown_fields_are_refused():
    invalid("case_concluded", {"decided_on": "2022-08-01", "disposition": "revoked", "judge": "李某"}, "unknown field judge")
    invalid("hearing_held", {"held_on": "2022-05-10"}, "needs attendance")


# --- defendants ---------------------------------------------------------------------------------


def filed_with_government(on: str = "2022-03-01") -> ev.Event:
    return ev.make("case_filed", {"filed_on": on, "court": "某某区人民法院", "agency": "市公安局", "cause": "行政处罚",
                                  "co_defendants": [{"agency": "市人民政府", "role": "reconsideration"}]})


def added(on: str, agency: str = "市人民政府", role: str = "reconsideration") -> ev.Event:
    return ev.make("defendant_added", {"added_on": on, "agency": agency, "role": role})


def test_a_hearing_in_a_case_with_several_defendants_names_one():
    history = given(filed_with_government())
    refused(history, hearing("2022-05-10"), "several defendants", "市公安局", "市人民政府")
    assert when(history, hearing("2022-05-10", agency="市人民政府")).defendants == ("市公安局", "市人民政府")


def test_a_hearing_names_a_defendant_of_the_case():
    refused(given(filed()), hearing("2022-05-10", agency="市住建局"), "市住建局", "not a defendant")
    when(given(filed()), hearing("2022-05-10", agency="市公安局"))  # the one defendant may be named


def test_a_defendant_added_later_is_not_one_before_its_date():
    history = given(filed(), added("2022-04-01"))
    refused(history, hearing("2022-03-15", agency="市人民政府"), "not a defendant")
    when(history, hearing("2022-04-02", agency="市人民政府"))


def test_a_defendant_is_added_once_and_not_before_filing():
    refused(given(filed_with_government()), added("2022-04-01"), "already a defendant")
    refused(given(filed()), added("2022-02-01"), "before the case was filed")


def test_co_defendants_are_distinct_and_have_a_known_role():
    base = {"filed_on": "2022-03-01", "court": "某某区人民法院", "agency": "市公安局", "cause": "行政处罚"}
    invalid("case_filed", {**base, "co_defendants": [{"agency": "市公安局", "role": "joint"}]}, "first defendant")
    invalid("case_filed", {**base, "co_defendants": [{"agency": "市人民政府", "role": "joint"}] * 2}, "twice")
    invalid("case_filed", {**base, "co_defendants": [{"agency": "市人民政府", "role": "court"}]}, "unknown role")
    invalid("case_filed", {**base, "co_defendants": [{"agency": "市人民政府"}]}, "agency and role")


@pytest.mark.parametrize("attendance, extra, words", [
    ("staff", {"left_early": True}, ["left_early", "head"]),
    ("lawyer_only", {"refused_to_explain": True}, ["refused_to_explain", "head"]),
    ("staff", {"excuse_rejected": True}, ["excuse_rejected", "excuse"]),
])
def test_flags_of_a_hearing_need_a_head_or_an_excuse(attendance, extra, words):
    invalid("hearing_held", {"held_on": "2022-05-10", "attendance": attendance, **extra}, *words)


def test_dispositions_name_defendants_and_come_with_a_reversal_only():
    history = given(filed_with_government())
    refused(history, ev.make("case_concluded", {"decided_on": "2022-08-01", "disposition": "claims_dismissed",
                                                "dispositions": {"市住建局": "revoked"}}), "市住建局", "not a defendant")
    invalid("appeal_decided", {"decided_on": "2022-10-01", "result": "upheld", "dispositions": {"市人民政府": "revoked"}},
            "only when the result is reversed")
