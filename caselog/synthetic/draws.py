"""What the generators draw from their seeded :class:`random.Random`: numbers, weighted choices, names."""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Iterable, Mapping, Sequence, TypeVar

T = TypeVar("T")

_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
_COMPANIES = ("宏达建材有限公司", "兴业置业有限公司", "恒信物流有限公司", "丰源食品有限公司", "瑞安纺织有限公司", "华成机械有限公司")


def between(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high]; cheaper than ``randint``, which matters at a million events."""
    return low + int(rng.random() * (high - low + 1))


def cumulative(weights: Iterable[float]) -> tuple[float, ...]:
    """Weights as the cumulative fractions :func:`pick` bisects; the last is exactly 1."""
    sums = list(itertools.accumulate(weights))
    fractions = [w / sums[-1] for w in sums]
    fractions[-1] = 1.0
    return tuple(fractions)


def pick(options: Sequence[T], fractions: tuple[float, ...], rng: random.Random) -> T:
    """One of ``options``, drawn with the weights ``fractions`` was made from."""
    return options[bisect.bisect(fractions, rng.random())]


class Weighted:
    """Words of the vocabulary (``caselog.events``) drawn with weights keyed by the words themselves.

    A word weighted 0 is never drawn: it is named so that the table visibly covers the
    whole vocabulary (tests/test_vocabulary.py checks that it does).
    """

    __slots__ = ("weights", "words", "fractions")

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)
        self.words = tuple(weights)
        self.fractions = cumulative(weights.values())

    def draw(self, rng: random.Random) -> str:
        return self.words[bisect.bisect(self.fractions, rng.random())]


def person(rng: random.Random) -> str:
    """A name as court records print it: a surname and 某."""
    return _SURNAMES[int(rng.random() * len(_SURNAMES))] + "某"


def plaintiff(rng: random.Random) -> str:
    """Mostly a person, sometimes a company."""
    if rng.random() < 0.8:
        return person(rng) + "某"
    return "某某" + _COMPANIES[int(rng.random() * len(_COMPANIES))]
