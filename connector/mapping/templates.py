"""Jinja2 templates and ``when`` conditions: sandboxed, side-effect free, checked at load.

Templates render in a :class:`MappingSandbox`: Jinja2's immutable sandbox (no
method may change the record), with no globals (no ``range``, ``cycler``,
``namespace``...), with ``**`` and ``*`` capped so a mapping cannot hang or
exhaust the process, and with every attempt to reach an unsafe attribute at
render time raising :class:`~jinja2.exceptions.SecurityError` (so the record
fails with that reason instead of rendering something empty).

Before that, at load, each template's syntax tree is searched: attributes,
constant keys, the ``attr`` filter and ``attribute=`` arguments that name
anything starting with ``_`` (``__class__``, ``__globals__``), and the special
name ``self``, are refused with the offending name. Names other than the
record's fields are refused too.

The record's fields are the variables (``{{ summary.text }}``), and the
mapping's ``[vars]`` are read as ``vars.<name>`` (only that way, and only the
names declared: anything else is refused at load, so a typo cannot render as
nothing). Each ``vars.<name>`` is replaced by its value when the template
compiles, so Jinja folds what depends only on variables and no record field
can stand in for one. Missing values
(None, or a field of a null object) render as nothing and are falsy, so
``{{ summary.text or 'pending' }}`` works on a call whose summary is null.
Transforms are available as filters where Jinja has no built-in filter of
that name (``{{ created_at | epoch_ms }}``); Jinja's own ``truncate``,
``lower``, ``upper``, ``map`` and ``join`` keep their Jinja meaning there.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any

from jinja2 import (
    ChainableUndefined,
    TemplateAssertionError,
    TemplateSyntaxError,
    Undefined,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from connector.mapping.transforms import MappingOptions, Transform

#: The biggest text or list a template may build with ``*``, and the biggest exponent.
MAX_REPEAT = 100_000
MAX_EXPONENT = 100


class TemplateError(ValueError):
    """A template or condition that must not load: syntax, unknown name, or an escape."""


class MappingSandbox(ImmutableSandboxedEnvironment):
    """The sandbox mappings render in (see the module docstring)."""

    intercepted_binops = frozenset({"**", "*"})
    #: The mapping's variables, by name (what ``vars.<name>`` may read).
    variables: Mapping[str, Any] = {}

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is over the limit of {MAX_EXPONENT}")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, Sized) and isinstance(count, int) and len(seq) * count > MAX_REPEAT:
                raise SecurityError(f"repeating to {len(seq) * count} items is over the limit")
        return operator.mul(left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to {attribute!r} of a {type(obj).__name__} is not allowed")


#: The name templates and conditions read the mapping's variables under.
VARS = "vars"


def make_environment(
    transforms: dict[str, Transform],
    options: MappingOptions,
    variables: Mapping[str, Any] | None = None,
) -> MappingSandbox:
    env = MappingSandbox(
        undefined=ChainableUndefined,
        autoescape=False,
        finalize=lambda value: "" if value is None else value,
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
    env.variables = dict(variables or {})
    for name, spec in transforms.items():
        if name in env.filters:
            continue  # Jinja's own filters keep their meaning in templates
        try:
            apply = spec.build(None, options)
        except ValueError:
            continue  # needs an argument (e.g. map): use it as a field transform instead
        env.filters[name] = _none_safe(apply) if not spec.handles_none else apply
    return env


def _none_safe(apply: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def filter_(value: Any) -> Any:
        if value is None or isinstance(value, Undefined):
            return None
        return apply(value)

    return filter_


def _private(name: object) -> bool:
    return isinstance(name, str) and name.startswith("_")


def check_tree(
    tree: nodes.Template, allowed_names: Iterable[str], variables: Iterable[str] = ()
) -> set[str]:
    """Refuse escapes and unknown names; return the record fields the template reads
    (``vars`` is not one of them)."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name)):
        name: object = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = getattr(node.arg, "value", None)
        elif isinstance(node, nodes.Filter):
            if node.name == "attr":
                arg = node.args[0] if node.args else None
                if not isinstance(arg, nodes.Const) or _private(arg.value):
                    raise TemplateError(
                        "the attr filter may only name a field, as a constant not starting with _"
                    )
            for kwarg in node.kwargs:
                if kwarg.key == "attribute" and (
                    not isinstance(kwarg.value, nodes.Const) or _private(kwarg.value.value)
                ):
                    raise TemplateError("attribute= may only name a field, as a constant")
            continue
        elif isinstance(node, nodes.Name) and node.name == "self":
            raise TemplateError("'self' reaches into the template's internals")
        if _private(name):
            raise TemplateError(
                f"reaches for the Python internal {name!r}; templates may only read the "
                "record's fields"
            )
    names = meta.find_undeclared_variables(tree)
    unknown = names - set(allowed_names) - {VARS}
    if unknown:
        raise TemplateError(
            f"uses unknown name(s) {', '.join(sorted(unknown))} "
            f"(the record's fields are: {', '.join(sorted(allowed_names))}; "
            "the mapping's variables are vars.<name>)"
        )
    if VARS in names:
        _check_vars(tree, set(variables))
    return names - {VARS}


def _var_name(node: nodes.Node) -> str | None:
    """``notes`` for the node ``vars.notes`` or ``vars['notes']``, else None."""
    inner = getattr(node, "node", None)
    if not (isinstance(inner, nodes.Name) and inner.name == VARS):
        return None
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if isinstance(node.arg.value, str) else None
    return None


class _InlineVars(NodeTransformer):
    """Replaces each ``vars.<name>`` with its value (checked by :func:`_check_vars`)."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def visit_Getattr(self, node: nodes.Getattr) -> nodes.Node:
        name = _var_name(node)
        if name is not None:
            return nodes.Const(self.variables[name], lineno=node.lineno)
        return self.generic_visit(node)

    visit_Getitem = visit_Getattr


def _check_vars(tree: nodes.Template, declared: set[str]) -> None:
    """Every use of ``vars`` reads a declared variable by a constant name."""
    reads: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = _var_name(node)
        if key is None:
            continue  # not vars, or vars[<computed>]: reported below
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise TemplateError(
                f"reads vars.{key}, which [vars] does not declare (it has: {known})"
            )
        reads.add(id(getattr(node, "node", None)))
    for name in tree.find_all(nodes.Name):
        if name.name == VARS and name.ctx == "load" and id(name) not in reads:
            raise TemplateError("reads the mapping's variables as a whole; read one: vars.<name>")


def fields_below(tree: nodes.Template, name: str) -> set[str] | None:
    """The attributes read below the variable ``name`` (``call.created_at`` -> created_at),
    or None when the variable is used whole and so may read anything."""
    attrs: set[str] = set()
    through_attr: set[int] = set()
    for getattr_node in tree.find_all(nodes.Getattr):
        inner = getattr_node.node
        if isinstance(inner, nodes.Name) and inner.name == name:
            attrs.add(getattr_node.attr)
            through_attr.add(id(inner))
    for name_node in tree.find_all(nodes.Name):
        if name_node.name == name and id(name_node) not in through_attr:
            return None
    return attrs


def _compile(env: MappingSandbox, source: str, what: str, allowed: Iterable[str]) -> Any:
    try:
        tree = env.parse(source)
        names = check_tree(tree, allowed, env.variables)
        if env.variables:
            tree = _InlineVars(env.variables).visit(tree)
        template = env.from_string(tree)
    except TemplateAssertionError as exc:  # e.g. an unknown filter or test
        raise TemplateError(f"{what}: {exc.message} (line {exc.lineno} of the {what})") from None
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"{what} syntax error: {exc.message} (line {exc.lineno} of the {what})"
        ) from None
    return template, names, tree


def _context_maker(template: Any, with_extra: bool) -> Callable[[dict[str, Any]], Any]:
    # Template.render copies the globals through a ChainMap on every call; building the
    # context from one dict is several times faster and renders the same.
    globals_ = dict(template.globals)
    if with_extra:
        return lambda record: template.new_context(
            {**globals_, **record, "extra": record}, shared=True
        )
    return lambda record: template.new_context({**globals_, **record}, shared=True)


def compile_template(
    env: MappingSandbox, text: str, allowed_names: Iterable[str]
) -> tuple[Callable[[dict[str, Any]], str], set[str], nodes.Template]:
    """A render function ``record -> text``, the fields it reads, and its syntax tree."""
    template, names, tree = _compile(env, text, "template", allowed_names)
    context = _context_maker(template, "extra" in names)
    root = template.root_render_func

    def render(record: dict[str, Any]) -> str:
        return "".join(root(context(record)))

    return render, names, tree


def compile_condition(
    env: MappingSandbox, text: str, allowed_names: Iterable[str]
) -> tuple[Callable[[dict[str, Any]], bool], set[str], nodes.Template]:
    """A ``when`` condition: a Jinja expression such as ``duration_seconds >= 30``."""
    if "%}" in text or "}}" in text:
        raise TemplateError("a condition is an expression, without {{ }} or {% %}")
    template, names, tree = _compile(
        env, "{% set result = (" + text + "\n) %}", "condition", allowed_names
    )
    context = _context_maker(template, "extra" in names)
    root = template.root_render_func

    def test(record: dict[str, Any]) -> bool:
        ctx = context(record)
        for _ in root(ctx):
            pass
        result = ctx.vars.get("result")
        return bool(result) and not isinstance(result, Undefined)

    return test, names, tree
