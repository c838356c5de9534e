"""The interview practice question bank: seed_data/interview/questions.yaml, validated with
file:line errors.

Each question has a category (自我介绍 岗位认知 隐私保护 效率与质量 压力), a time limit (the
self-introduction 60 s, the others 90–180 s), 3–6 key points in the format of
``sandbox.dialogue.keypoints`` and a spoken model answer. The loaded bank is cached per file
and modification time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sandbox.dialogue.keypoints import KeyPoint, key_point_problems, parse_key_points
from sandbox.drill.scenario.errors import Collector, ScenarioError, line_index
from sandbox.errors import NotFound, ValidationFailed
from sandbox.safe_load import UnsafeInput, YamlLimits, load_yaml, yaml_error_line

CATEGORIES: tuple[str, ...] = ("自我介绍", "岗位认知", "隐私保护", "效率与质量", "压力")
SELF_INTRO = "自我介绍"
SELF_INTRO_SECONDS = 60
OTHER_SECONDS = (90, 180)
KEY_POINTS_RANGE = (3, 6)
MODEL_ANSWER_MAX = {SELF_INTRO: 250}
MODEL_ANSWER_DEFAULT_MAX = 400
QUESTION_MAX = 200
QUESTION_FIELDS = ("id", "category", "question", "time_limit", "key_points", "model_answer")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
BANK_YAML_LIMITS = YamlLimits(max_bytes=2 * 1024 * 1024, max_nodes=200_000)


class QuestionBankInvalid(ValidationFailed):
    """The question bank file failed validation; ``errors`` lists each problem with its line."""

    code = "question_bank_invalid"

    def __init__(self, errors: list[ScenarioError], code: str | None = None) -> None:
        self.errors = errors
        super().__init__("面试题库文件有误：\n" + "\n".join(str(e) for e in errors), code=code,
                         details={"errors": [e.__dict__ for e in errors]})


@dataclass(frozen=True)
class Question:
    """One practice question with its key points and model answer."""

    id: str
    category: str
    question: str
    time_limit: int
    key_points: tuple[KeyPoint, ...]
    model_answer: str

    @property
    def countdown(self) -> bool:
        """The self-introduction is answered against a visible countdown that stops input at 0."""
        return self.category == SELF_INTRO

    def summary(self) -> dict[str, Any]:
        """The question without its key points and model answer (what is shown before answering)."""
        return {"id": self.id, "category": self.category, "question": self.question,
                "time_limit": self.time_limit, "countdown": self.countdown}


@dataclass(frozen=True)
class QuestionBank:
    """The questions in file order."""

    questions: tuple[Question, ...]

    def get(self, question_id: str) -> Question:
        """The question, or 404 ``unknown_question``."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise NotFound("没有这道面试题。", code="unknown_question")

    def by_category(self) -> list[tuple[str, list[Question]]]:
        """(category, its questions) in the order of ``CATEGORIES``, empty categories left out."""
        groups = [(c, [q for q in self.questions if q.category == c]) for c in CATEGORIES]
        return [(c, qs) for c, qs in groups if qs]


def default_path() -> Path:
    """seed_data/interview/questions.yaml."""
    import seed_data

    return Path(seed_data.__file__).parent / "interview" / "questions.yaml"


def parse_bank(text: str, file: str = "<questions>") -> QuestionBank:
    """Parse and validate the bank's YAML text; raise ``QuestionBankInvalid`` listing every problem."""
    try:
        data, root = load_yaml(text, BANK_YAML_LIMITS, what="面试题库文件")
    except UnsafeInput as exc:
        raise QuestionBankInvalid([ScenarioError(file, exc.line, "(YAML)", exc.reason)], code=exc.code) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuestionBankInvalid([ScenarioError(file, yaml_error_line(exc), "(YAML)",
                                                 f"YAML 语法错误：{problem}")]) from None
    c = Collector(file, line_index(root))
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        raise QuestionBankInvalid([ScenarioError(file, 1, "questions", "顶层必须是 questions: 后跟至少一道题的列表")])
    for key in sorted(set(data) - {"questions"}, key=str):
        c.add((key,), "未知字段；顶层只有 questions")
    questions: list[Question] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["questions"]):
        q = _question(raw, ("questions", i), c, seen)
        if q is not None:
            questions.append(q)
    if c.errors:
        raise QuestionBankInvalid(c.errors)
    return QuestionBank(tuple(questions))


def _question(raw: Any, path: tuple, c: Collector, seen: set[str]) -> Question | None:
    if not isinstance(raw, dict):
        c.add(path, "每道题必须是键值对象")
        return None
    before = len(c.errors)
    qid = raw.get("id")
    if not isinstance(qid, str) or not ID_PATTERN.match(qid) or len(qid) > 64:
        c.add(path + ("id",), "id 必须是小写字母、数字和连字符（kebab-case），不超过 64 个字符")
    elif qid in seen:
        c.add(path + ("id",), f"id 重复：{qid}")
    else:
        seen.add(qid)
    category = raw.get("category")
    if category not in CATEGORIES:
        c.add(path + ("category",), f"未知类别 {category!r}；可选：{' '.join(CATEGORIES)}")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        c.add(path + ("question",), "需要题目文字（question）")
    elif len(question.strip()) > QUESTION_MAX:
        c.add(path + ("question",), f"题目不能超过 {QUESTION_MAX} 个字")
    limit = raw.get("time_limit")
    if not isinstance(limit, int) or isinstance(limit, bool):
        c.add(path + ("time_limit",), "time_limit 必须是整数秒")
    elif category == SELF_INTRO and limit != SELF_INTRO_SECONDS:
        c.add(path + ("time_limit",), f"自我介绍的限时必须是 {SELF_INTRO_SECONDS} 秒")
    elif category != SELF_INTRO and not OTHER_SECONDS[0] <= limit <= OTHER_SECONDS[1]:
        c.add(path + ("time_limit",), f"限时必须在 {OTHER_SECONDS[0]}–{OTHER_SECONDS[1]} 秒之间")
    points_raw = raw.get("key_points")
    for sub, message in key_point_problems(points_raw):
        c.add(path + ("key_points",) + sub, message)
    if isinstance(points_raw, list) and points_raw and not (
            KEY_POINTS_RANGE[0] <= len(points_raw) <= KEY_POINTS_RANGE[1]):
        c.add(path + ("key_points",), f"要点应为 {KEY_POINTS_RANGE[0]}–{KEY_POINTS_RANGE[1]} 个（现有 {len(points_raw)} 个）")
    answer = raw.get("model_answer")
    most = MODEL_ANSWER_MAX.get(str(category), MODEL_ANSWER_DEFAULT_MAX)
    if not isinstance(answer, str) or not answer.strip():
        c.add(path + ("model_answer",), "需要参考回答（model_answer）")
    elif len(answer.strip()) > most:
        c.add(path + ("model_answer",), f"参考回答不能超过 {most} 个字（现有 {len(answer.strip())} 个）")
    for key in sorted(set(raw) - set(QUESTION_FIELDS), key=str):
        c.add(path + (key,), f"未知字段；可写：{', '.join(QUESTION_FIELDS)}")
    if len(c.errors) > before or not isinstance(limit, int):
        return None
    return Question(id=str(qid), category=str(category), question=str(question).strip(), time_limit=limit,
                    key_points=parse_key_points(points_raw), model_answer=str(answer).strip())


_cache: dict[str, tuple[float, QuestionBank]] = {}


def load_bank(path: Path | None = None) -> QuestionBank:
    """The bank from ``path`` (default: the seed file), parsed again only when the file changed."""
    path = Path(path or default_path())
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise QuestionBankInvalid([ScenarioError(str(path), None, "(文件)", "找不到面试题库文件")]) from exc
    key = str(path)
    cached = _cache.get(key)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    bank = parse_bank(path.read_text(encoding="utf-8"), file=str(path))
    _cache[key] = (mtime, bank)
    return bank
