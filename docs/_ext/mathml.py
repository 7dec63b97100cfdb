"""A Sphinx math renderer that writes MathML at build time.

Sphinx's own HTML math (MathJax) loads a script from the network; the pages of this site must
load with none. ``latex2mathml`` turns each formula into MathML, which browsers draw natively.
"""

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.errors import ExtensionError


def _mathml(self, node, display):
    try:
        markup = convert(node.astext(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exception types and plain ones
        raise ExtensionError(f"cannot turn this formula into MathML: {node.astext()!r} ({exc})") from exc
    if display:  # the theme lays div.math out as a reversed flex row; the formula scrolls in its own box
        self.body.append(f'<div class="math notranslate nohighlight"><div class="mathml">{markup}</div></div>')
    else:
        self.body.append(f'<span class="math notranslate nohighlight">{markup}</span>')
    raise nodes.SkipNode


def visit_inline(self, node):
    _mathml(self, node, display=False)


def visit_block(self, node):
    if node.get("number"):
        self.body.append(f'<span class="eqno">({node["number"]})</span>')
    _mathml(self, node, display=True)


def setup(app):
    app.add_html_math_renderer("mathml", (visit_inline, None), (visit_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
