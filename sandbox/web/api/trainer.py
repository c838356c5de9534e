"""Trainer JSON endpoints: the live, sanitised preview of an article's Markdown, and scenario upload."""

from __future__ import annotations

from flask import jsonify

from sandbox.drill.scenario.vocabulary import MAX_YAML_BYTES
from sandbox.errors import ValidationFailed
from sandbox.roles import TRAINER_ROLES
from sandbox.web.api import bp, json_body
from sandbox.web.scenario_library import save_upload
from sandbox.web.security import roles_required
from sandbox.web.trainer.articles import preview_html


@bp.post("/trainer/preview")
@roles_required(*TRAINER_ROLES)
def trainer_preview():
    """``{"markdown": "..."}`` → ``{"html": "..."}`` rendered by knowledge_base.render (nh3 allow-list)."""
    text = json_body().get("markdown", "")
    if not isinstance(text, str):
        raise ValidationFailed("markdown 必须是字符串。", code="invalid_markdown")
    return jsonify({"html": preview_html(text)})


@bp.post("/trainer/scenarios")
@roles_required(*TRAINER_ROLES)
def trainer_scenario_upload():
    """``{"yaml": "...", "file": "name.yaml"}`` → the stored scenario (a changed text is a new version).

    The text is parsed and validated before any transaction begins; a refused file answers
    400 with ``error.errors`` listing file, line, field and message of each problem.
    """
    data = json_body()
    text = data.get("yaml")
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("请在 yaml 字段中提供场景文件的内容。", code="missing_yaml")
    name = data.get("file")
    source = f"{name[:120]}（API）" if isinstance(name, str) and name.strip() else "API 上传"
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise ValidationFailed(f"场景文件过大（最多 {MAX_YAML_BYTES // 1000} KB）。", code="file_too_large")
    row = save_upload(text.replace("\r\n", "\n"), source)
    return jsonify({"id": row.id, "version": row.version, "title": row.title, "enabled": row.enabled})
