"""The ``sparseae-cli`` directive: every command and flag, read from the parser itself.

``sparseae.cli.parser.build_parser()`` is the one source of the command line, so the page it
makes cannot drift from what ``sparseae COMMAND --help`` says.
"""

import argparse
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

from sparseae.cli.parser import build_parser


def _escape(text):
    """Plain text as reStructuredText: no markup character means markup."""
    return re.sub(r"([\\*`|_\[\]<>])", r"\\\1", text)


def _subcommands(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    return [(name, sub, helps.get(name, "")) for name, sub in action.choices.items()]


def _flag(action):
    if not action.option_strings:
        return action.metavar or action.dest.upper()
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return names
    if action.choices:
        return f"{names} {{{','.join(map(str, action.choices))}}}"
    metavar = action.metavar or action.dest.upper()
    return f"{names} {metavar}" + (f" [{metavar} ...]" if action.nargs in ("+", "*") else "")


def _command_text(name, sub, help_text):
    lines = [f"sparseae {name}", "-" * (len(name) + 9), "", _escape(help_text[:1].upper() + help_text[1:]) + ".",
             "", "::", ""]
    lines += ["    " + line for line in sub.format_usage().strip().splitlines()]
    lines.append("")
    for group in sub._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        title = group.title[:1].upper() + group.title[1:]
        lines += [f"**{_escape(title)}**", ""]
        for action in actions:
            required = " (required)" if action.required and action.option_strings else ""
            lines += [f"``{_flag(action)}``", f"    {_escape(action.help or '')}{required}", ""]
    return lines


class CommandLine(SphinxDirective):
    """Write one section per ``sparseae`` command, with its usage line and its flags (in an
    reStructuredText page: the text is parsed as the page's own markup)."""

    has_content = False

    def run(self):
        parser = build_parser()
        lines = []
        for name, sub, help_text in _subcommands(parser):
            lines += _command_text(name, sub, help_text)
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="sparseae.cli.parser"), holder)
        return holder.children


def setup(app):
    app.add_directive("sparseae-cli", CommandLine)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
