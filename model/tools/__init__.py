"""Command-line tools over the model: `python -m model.tools.demo` (make demo) and
`python -m model.tools.summary` (make model-card)."""
