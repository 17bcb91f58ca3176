"""Body templates: the format and loader (asset.py) and their builders (see README.md in this folder)."""

from model.template.asset import DEFAULT_PATH, BodyTemplate, TemplateError, load_template

__all__ = ["DEFAULT_PATH", "BodyTemplate", "TemplateError", "load_template"]
