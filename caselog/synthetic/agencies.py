"""The defendants of the generated logs: ten kinds of agency, each with its habits in court, and the
people each agency can send."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from caselog import events as ev

from .draws import cumulative, person, pick


@dataclass(frozen=True)
class Kind:
    """The habits of one sort of agency: whom it sends to court, whether they speak, how often it loses."""

    name: str
    field: str
    weight: float
    titles: tuple[str, str, str]
    staff_title: str
    #: weights of the attendances in the order of ``events.ATTENDANCES``, in the first and the last year
    attend_from: tuple[float, ...]
    attend_to: tuple[float, ...]
    spoke_from: float
    spoke_to: float
    loss: float
    causes: tuple[tuple[str, float], ...]  # (cause, weight): the causes it is sued for, a few of events.CAUSES

    def habits(self, progress: float) -> Habits:
        """Habits improve with ``progress`` from 0 (first year) to 1 (last): more heads, more speech, fewer losses."""
        attendance = (a + (b - a) * progress for a, b in zip(self.attend_from, self.attend_to))
        return Habits(
            attendance=cumulative(attendance),
            spoke=self.spoke_from + (self.spoke_to - self.spoke_from) * progress,
            excused=0.25 + 0.35 * progress,
            loss=self.loss * (0.14 - 0.08 * progress),
            causes=tuple(c for c, _ in self.causes),
            cause_weights=cumulative(w for _, w in self.causes),
        )


KINDS = (
    Kind("市公安局", "公安", 22, ("局长", "副局长", "政治部主任"), "法制支队民警",
         (4, 50, 8, 24, 10, 4), (6, 82, 8, 4, 0, 0), 0.2, 0.45, 0.8,
         (("行政处罚", 60), ("行政强制措施", 14), ("不履行职责", 10), ("政府信息公开", 8), ("行政赔偿", 5), ("行政复议", 3))),
    Kind("市自然资源和规划局", "自然资源", 16, ("局长", "副局长", "总规划师"), "政策法规处工作人员",
         (40, 28, 6, 16, 8, 2), (66, 26, 6, 2, 0, 0), 0.55, 0.85, 1.3,
         (("行政许可", 25), ("行政登记", 20), ("行政征收或者征用", 20), ("行政处罚", 15), ("政府信息公开", 10), ("行政协议", 10))),
    Kind("市市场监管局", "市场监管", 10, ("局长", "副局长", "党组成员"), "法规科科长",
         (2, 14, 4, 44, 30, 6), (4, 40, 10, 34, 12, 0), 0.3, 0.5, 1.0,
         (("行政处罚", 50), ("政府信息公开", 15), ("行政登记", 15), ("行政许可", 10), ("不履行职责", 10))),
    Kind("城东区人民政府", "政府", 14, ("区长", "副区长", "区政府党组成员"), "区司法局工作人员",
         (8, 46, 14, 20, 8, 4), (14, 76, 8, 2, 0, 0), 0.3, 0.6, 1.4,
         (("行政征收或者征用", 35), ("行政补偿", 20), ("行政强制执行", 15), ("行政协议", 15), ("政府信息公开", 10), ("行政复议", 5))),
    Kind("市人力社保局", "人力社保", 9, ("局长", "副局长", "二级调研员"), "法规科科长",
         (14, 44, 14, 22, 6, 0), (20, 60, 15, 5, 0, 0), 0.5, 0.8, 0.7,
         (("行政确认", 55), ("行政给付", 20), ("行政征缴", 10), ("政府信息公开", 10), ("行政处罚", 5))),
    Kind("市生态环境局", "生态环境", 6, ("局长", "副局长", "总工程师"), "法规处工作人员",
         (10, 40, 10, 28, 10, 2), (16, 62, 12, 10, 0, 0), 0.4, 0.7, 0.9,
         (("行政处罚", 70), ("行政许可", 15), ("政府信息公开", 15))),
    Kind("市住建局", "住房城乡建设", 8, ("局长", "副局长", "总经济师"), "法规科科长",
         (8, 44, 10, 26, 10, 2), (12, 66, 12, 10, 0, 0), 0.35, 0.7, 1.1,
         (("行政许可", 20), ("行政处理", 20), ("政府信息公开", 20), ("不履行职责", 20), ("行政登记", 10), ("行政协议", 10))),
    Kind("市城管局", "综合行政执法", 8, ("局长", "副局长", "执法支队支队长"), "法制科工作人员",
         (6, 46, 12, 24, 10, 2), (10, 70, 14, 6, 0, 0), 0.3, 0.6, 1.0,
         (("行政处罚", 50), ("行政强制执行", 30), ("行政强制措施", 10), ("行政赔偿", 10))),
    Kind("市人民政府", "政府", 5, ("市长", "副市长", "市政府秘书长"), "市司法局工作人员",
         (1, 58, 20, 16, 4, 1), (2, 80, 16, 2, 0, 0), 0.35, 0.65, 0.9,
         (("行政复议", 50), ("政府信息公开", 20), ("行政征收或者征用", 20), ("行政批复", 10))),
    Kind("市交通运输局", "交通运输", 4, ("局长", "副局长", "党组成员"), "法规科科长",
         (10, 40, 10, 30, 8, 2), (14, 64, 12, 10, 0, 0), 0.4, 0.7, 0.8,
         (("行政处罚", 70), ("行政许可", 20), ("行政收费", 5), ("行政奖励", 5))),
)
_KIND_WEIGHTS = cumulative(kind.weight for kind in KINDS)


def kind_index(rng: random.Random) -> int:
    """The place in KINDS of a new case's defendant, by how often each kind is sued."""
    return pick(range(len(KINDS)), _KIND_WEIGHTS, rng)


@dataclass(frozen=True)
class Habits:
    """A kind of agency's habits in one year."""

    attendance: tuple[float, ...]
    spoke: float
    excused: float
    loss: float
    causes: tuple[str, ...]
    cause_weights: tuple[float, ...]

    def attendance_of(self, rng: random.Random) -> str:
        return ev.ATTENDANCES[bisect.bisect(self.attendance, rng.random())]

    def cause_of(self, rng: random.Random) -> str:
        return self.causes[bisect.bisect(self.cause_weights, rng.random())]


class Agency:
    """A defendant agency and the people it can send to court."""

    __slots__ = ("name", "kind", "principal", "deputies", "other_head", "staff")

    def __init__(self, name: str, kind: Kind, rng: random.Random) -> None:
        self.name = name
        self.kind = kind
        self.principal = person(rng)
        self.deputies = tuple(person(rng) for _ in range(3))
        self.other_head = person(rng)
        self.staff = tuple(person(rng) for _ in range(3))

    def head(self, attendance: str, rng: random.Random) -> tuple[str, str]:
        """The name and title of a head of this rank."""
        principal, deputy, other = self.kind.titles
        if attendance == "principal":
            return self.principal, principal
        if attendance == "deputy":
            return self.deputies[int(rng.random() * 3)], deputy
        return self.other_head, other

    def clerk(self, rng: random.Random) -> tuple[str, str]:
        """The name and title of a staff member."""
        return self.staff[int(rng.random() * 3)], self.kind.staff_title

