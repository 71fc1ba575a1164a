"""Jinja2 templates and ``when`` conditions, sandboxed and checked at load.

Templates render with Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment`.
Before that, each template's syntax tree is searched for attributes or keys
that reach for Python internals (anything starting with ``_``, such as
``__class__`` or ``__globals__``); such a template is refused when the mapping
loads, with the offending name. The sandbox remains as a second line at
render time.

The record's fields are the template's variables (``{{ summary.text }}``);
unknown names are refused at load. Missing values render as nothing and are
falsy, so ``{{ summary.text or 'Summary pending.' }}`` works on a call whose
summary is null. The transforms are available as filters where Jinja has no
built-in filter of that name (``{{ created_at | epoch_ms }}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from connector.mapping.transforms import MappingOptions, Transform


class TemplateProblem(ValueError):
    """A template or condition that must not load: syntax, unknown name, or an escape."""


def make_environment(
    transforms: dict[str, Transform], options: MappingOptions
) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
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
        if value is None or isinstance(value, ChainableUndefined):
            return None
        return apply(value)

    return filter_


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


def check_tree(tree: nodes.Template, allowed_names: Iterable[str]) -> set[str]:
    """Refuse escapes and unknown names; return the record fields the template reads."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            name: object = node.attr
        else:
            assert isinstance(node, nodes.Getitem)
            name = getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateProblem(
                f"reaches for the Python internal {name!r}; templates may only read the "
                "record's fields"
            )
    names = meta.find_undeclared_variables(tree)
    unknown = names - set(allowed_names)
    if unknown:
        raise TemplateProblem(
            f"uses unknown name(s) {', '.join(sorted(unknown))} "
            f"(the record's fields are: {', '.join(sorted(allowed_names))})"
        )
    return names


def compile_template(
    env: SandboxedEnvironment, text: str, allowed_names: Iterable[str]
) -> tuple[Callable[[dict[str, Any]], str], set[str], nodes.Template]:
    """A render function ``record -> text``, the fields it reads, and its syntax tree."""
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message} (line {exc.lineno})") from None
    names = check_tree(tree, allowed_names)
    template = env.from_string(tree)
    # Template.render copies the globals through a ChainMap on every call; building the
    # context from one merged dict is several times faster and renders the same.
    globals_ = dict(template.globals)
    root = template.root_render_func

    def render(record: dict[str, Any]) -> str:
        return "".join(root(template.new_context({**globals_, **record}, shared=True)))

    return render, names, tree


def compile_condition(
    env: SandboxedEnvironment, text: str, allowed_names: Iterable[str]
) -> tuple[Callable[[dict[str, Any]], bool], set[str], nodes.Template]:
    """A ``when`` condition: a Jinja expression such as ``duration_seconds >= 30``."""
    try:
        tree = env.parse("{{ (" + text + ") }}")
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"condition syntax error: {exc.message}") from None
    names = check_tree(tree, allowed_names)
    template = env.from_string("{% set result = (" + text + ") %}")
    globals_ = dict(template.globals)
    root = template.root_render_func

    def test(record: dict[str, Any]) -> bool:
        context = template.new_context({**globals_, **record}, shared=True)
        for _ in root(context):
            pass
        result = context.vars.get("result")
        return bool(result) and not isinstance(result, Undefined)

    return test, names, tree
