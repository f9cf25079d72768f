"""Resource bounds of the template sandbox: no chat template may run long or build huge values.

Jinja's sandbox stops a template from reaching Python internals, but not from spending
resources: nested loops (`range(100000)` twice is 10**10 steps), a string doubled in a loop,
`'a' | center(10**10)`, `'%10000000000s' % 'a'`, `lipsum(10**9)`. This module adds the bounds
the sandbox in `sandbox.py` enforces:

- a budget per render: at most `MAX_LOOP_ITERATIONS` loop iterations in all, and at most
  `MAX_RENDER_SECONDS` of wall-clock time, checked at every loop step, call, attribute access
  and operator;
- sizes checked *before* a value is built: concatenation (`+`, `~`, `join`), padding and
  indentation widths, format widths, `replace`, `batch` and `slice` counts, `tojson` indents,
  `lipsum`: no string over `MAX_OUTPUT_CHARS`, no list over `MAX_REPEAT_CHARS` items;
- no `{% include %}`, `{% import %}`, `{% from %}` or `{% extends %}`: a chat template is one
  self-contained source, and the sandbox loads no files.

A template that breaks a bound raises `LimitExceeded` (a `jinja2` `SecurityError`), which
`render_template` reports as a `TemplateLimitError`.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2.sandbox import SecurityError

if TYPE_CHECKING:
    from jinja2 import Environment, nodes

MAX_OUTPUT_CHARS = 16_000_000
"""Longest prompt (or any string) a template may produce (characters)."""
MAX_REPEAT_CHARS = 1_000_000
"""Longest string or sequence a template may build with `*`; the most items of any list."""
MAX_LOOP_ITERATIONS = 1_000_000
"""Loop iterations a template may run in one render, all loops together."""
MAX_RENDER_SECONDS = 10.0
"""Wall-clock time one render may take (a real chat template takes milliseconds)."""
MAX_POW_BITS = 4096
"""Largest integer (in bits) a template may compute with `*` or `**`."""
MAX_JSON_INDENT = 64
"""Largest `tojson(indent=...)`."""
MAX_LIPSUM_WORDS = 1000
"""Most words `lipsum()` may produce."""
MAX_WRAP_CHARS = 50_000
"""Longest text the `wordwrap` filter may wrap."""

ITER_FILTER = "__localkit_bounded_iter"
CONCAT_FILTER = "__localkit_bounded_concat"

_CHECK_CLOCK_EVERY = 256


class LimitExceeded(SecurityError):
    """A template broke one of the sandbox's resource bounds."""


@dataclass
class _Budget:
    seconds: float
    deadline: float
    iterations: int = 0
    steps: int = 0


_BUDGET: ContextVar[_Budget | None] = ContextVar("localkit_template_budget", default=None)


@contextmanager
def render_budget(seconds: float | None = None) -> Iterator[None]:
    """Count loop iterations and time for the render run inside the block."""
    limit = MAX_RENDER_SECONDS if seconds is None else seconds
    token = _BUDGET.set(_Budget(seconds=limit, deadline=time.monotonic() + limit))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def tick() -> None:
    """One step of template code: checks the clock now and then."""
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.steps += 1
    if budget.steps % _CHECK_CLOCK_EVERY == 0 and time.monotonic() > budget.deadline:
        raise LimitExceeded(f"rendering took longer than {budget.seconds:g} s")


def check_chars(n: int, what: str) -> None:
    """Refuse a string of `n` characters when it is over `MAX_OUTPUT_CHARS`."""
    if n > MAX_OUTPUT_CHARS:
        raise LimitExceeded(f"{what} would build a string of {n} characters")


def check_items(n: int, what: str) -> None:
    """Refuse a sequence of `n` items when it is over `MAX_REPEAT_CHARS`."""
    if n > MAX_REPEAT_CHARS:
        raise LimitExceeded(f"{what} would build a sequence of {n} items")


def check_width(value: Any, what: str) -> None:
    """Refuse a padding, indent or count argument over the string bound."""
    if isinstance(value, int) and value > MAX_OUTPUT_CHARS:
        raise LimitExceeded(f"{what} asks for a width of {value}")


def check_sum(left: Any, right: Any) -> None:
    """`left + right`: refuse a result over the bounds (strings, lists, tuples, integers)."""
    if isinstance(left, str) and isinstance(right, str):
        check_chars(len(left) + len(right), "'+'")
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        check_items(len(left) + len(right), "'+'")


def check_product(left: Any, right: Any) -> None:
    """`left * right`: refuse oversized sequences and integers."""
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int):
            if len(seq) * max(n, 0) > MAX_REPEAT_CHARS:
                raise LimitExceeded("the template builds an oversized sequence with '*'")
            if not isinstance(seq, str) and weight(seq) * max(n, 0) > MAX_OUTPUT_CHARS:
                raise LimitExceeded("the template repeats an oversized sequence with '*'")
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and abs(left).bit_length() + abs(right).bit_length() > MAX_POW_BITS
    ):
        raise LimitExceeded("the template computes an oversized number with '*'")


def check_power(left: Any, right: Any) -> None:
    """`left ** right`: refuse oversized integers."""
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left) > 1
        and abs(left).bit_length() * right > MAX_POW_BITS
    ):
        raise LimitExceeded("the template computes an oversized number with '**'")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")


def _args_of(values: Any) -> list[Any]:
    if isinstance(values, tuple | list):
        return list(values)
    if isinstance(values, Mapping):
        return list(values.values())
    return [values]


def check_percent(fmt: str, values: Any) -> None:
    """`fmt % values`: refuse widths and precisions that would build a huge string."""
    starred = False
    for m in _PERCENT_SPEC.finditer(fmt):
        for part in m.groups():
            if part == "*":
                starred = True
            elif part:
                check_width(int(part), "a '%' format")
    if starred:
        for arg in _args_of(values):
            check_width(arg, "a '%*' format")


def check_format(fmt: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    """`fmt.format(*args, **kwargs)`: refuse format specs that would build a huge string."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will raise the same error itself
    nested = False
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            nested = True
        for digits in re.findall(r"\d+", spec):
            check_width(int(digits), "a format spec")
    if nested:
        for arg in (*args, *kwargs.values()):
            check_width(arg, "a nested format spec")


def check_str_method(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """A call of a `str` method that can grow a string far beyond its inputs."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    values = (*args, *kwargs.values())
    if name in ("center", "ljust", "rjust", "zfill"):
        for value in values:
            check_width(value, f"str.{name}")
    elif name == "expandtabs":
        size = values[0] if values else 8
        if isinstance(size, int):
            check_chars(len(owner) + owner.count("\t") * size, "str.expandtabs")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = owner.count(old) if old else len(owner) + 1
            check_chars(len(owner) + count * len(new), "str.replace")
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, list | tuple):
            total = sum(len(s) for s in items if isinstance(s, str))
            check_chars(total + len(owner) * max(len(items) - 1, 0), "str.join")


def weight(value: Any, limit: int | None = None) -> int:
    """About how many characters `str(value)` would have (stops counting past `limit`)."""
    cap = MAX_OUTPUT_CHARS if limit is None else limit
    total = 0
    stack = [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total <= cap:
                stack.extend(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= cap:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 3
        else:
            total += 1
    return total


def check_weight(value: Any, what: str) -> None:
    """Refuse a value whose text would be over the string bound (`str(value)` builds it)."""
    if isinstance(value, str | int | float | bool | type(None)):
        if isinstance(value, str):
            check_chars(len(value), what)
        return
    n = weight(value)
    if n > MAX_OUTPUT_CHARS:
        raise LimitExceeded(
            f"{what} would write out a value of more than {MAX_OUTPUT_CHARS} characters"
        )


def finalize(value: Any) -> Any:
    """Every `{{ value }}` goes through here before it is written out."""
    check_weight(value, "an output")
    return value


def bounded_iter(value: Any) -> Iterator[Any]:
    """What a `{% for %}` loop iterates: the value, counted against the render's budget."""
    budget = _BUDGET.get()
    for item in value:
        if budget is not None:
            budget.iterations += 1
            if budget.iterations > MAX_LOOP_ITERATIONS:
                raise LimitExceeded(f"the loops ran more than {MAX_LOOP_ITERATIONS} iterations")
        tick()
        yield item


def bounded_concat(parts: list[Any]) -> str:
    """`a ~ b ~ c`, refused when the result would be over the string bound."""
    check_weight(parts, "'~'")
    texts = [str(p) for p in parts]
    check_chars(sum(len(t) for t in texts), "'~'")
    return "".join(texts)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], i: int, key: str, default: Any) -> Any:
    return args[i] if len(args) > i else kwargs.get(key, default)


_SUM_COST = 100_000_000
"""Most item copies `sum` of sequences may do (it copies the running total at each step)."""


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """The bounds of one filter call (`value | name(*args, **kwargs)`)."""
    text = value if isinstance(value, str) else None
    if name == "center":
        check_width(_arg(args, kwargs, 0, "width", 80), "center")
    elif name == "indent" and text is not None:
        width = _arg(args, kwargs, 0, "width", 4)
        size = len(width) if isinstance(width, str) else width
        if isinstance(size, int):
            check_chars(len(text) + (text.count("\n") + 1) * size, "indent")
    elif name in ("batch", "slice"):
        count = _arg(args, kwargs, 0, "linecount" if name == "batch" else "slices", 0)
        if isinstance(count, int):
            check_items(count, name)
    elif name == "format" and text is not None:
        check_percent(text, kwargs or args)
        check_weight([args, dict(kwargs)], "format")
    elif name == "replace" and text is not None and len(args) >= 2:
        check_str_method(text.replace, args[:2], {})
    elif name == "join" and isinstance(value, list | tuple):
        sep = _arg(args, kwargs, 0, "d", "")
        check_chars(weight(value) + len(str(sep)) * max(len(value) - 1, 0), "join")
    elif name == "wordwrap" and text is not None:
        if len(text) > MAX_WRAP_CHARS:  # textwrap is slow: a megabyte takes many seconds
            raise LimitExceeded(f"wordwrap of {len(text)} characters (at most {MAX_WRAP_CHARS})")
        wrap = _arg(args, kwargs, 2, "wrapstring", None)
        if isinstance(wrap, str):
            check_chars(len(text) * (1 + len(wrap)), "wordwrap")
    elif name == "sum" and isinstance(value, list | tuple):
        start = _arg(args, kwargs, 1, "start", 0)
        sequences = isinstance(start, list | tuple | str) or any(
            isinstance(v, list | tuple | str) for v in value[:1]
        )
        if sequences and len(value) * weight(value) > _SUM_COST:
            raise LimitExceeded("sum of sequences would copy too much")
    elif name == "tojson":
        indent = _arg(args, kwargs, 1, "indent", None)
        if isinstance(indent, int) and indent > MAX_JSON_INDENT:
            raise LimitExceeded(f"tojson asks for an indent of {indent}")


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """`original`, checked against the bounds first (its Jinja pass-argument marker kept)."""
    skip = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(original)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if len(args) <= skip:
            return original(*args, **kwargs)
        head, value, rest = args[:skip], args[skip], args[skip + 1 :]
        if name in ("join", "sum") and not isinstance(value, str | list | tuple):
            value = list(bounded_iter(value))
        check_weight(value, f"the {name} filter")
        _check_filter(name, value, rest, kwargs)
        return original(*head, value, *rest, **kwargs)

    return bounded


def _bounded_lipsum(original: Callable[..., Any]) -> Callable[..., Any]:
    def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
        if isinstance(n, int) and isinstance(max, int) and n * max > MAX_LIPSUM_WORDS:
            raise LimitExceeded(f"lipsum() asks for up to {n * max} words")
        return original(n, html, min, max)

    return lipsum


def install(env: Environment) -> None:
    """Put the bounded filters, globals and output check into `env`."""
    for name, func in list(env.filters.items()):
        env.filters[name] = _bounded_filter(name, func)
    env.filters[ITER_FILTER] = bounded_iter
    env.filters[CONCAT_FILTER] = bounded_concat
    if "lipsum" in env.globals:
        env.globals["lipsum"] = _bounded_lipsum(env.globals["lipsum"])  # type: ignore[arg-type]
    env.finalize = finalize


_LOADING_NODES = {
    "Include": "{% include %}",
    "Import": "{% import %}",
    "FromImport": "{% from ... import %}",
    "Extends": "{% extends %}",
}


def bound_tree(tree: nodes.Template, env: Environment) -> nodes.Template:
    """Refuse templates that load others; count every loop; bound every `~`."""
    from jinja2 import nodes as n
    from jinja2.visitor import NodeTransformer

    for kind, tag in _LOADING_NODES.items():
        if tree.find(getattr(n, kind)) is not None:
            raise LimitExceeded(
                f"the template uses {tag} to load another template; a chat template must be "
                "self-contained and the sandbox loads no files"
            )

    class Bound(NodeTransformer):
        def visit_For(self, node: n.For) -> n.Node:
            self.generic_visit(node)
            node.iter = n.Filter(node.iter, ITER_FILTER, [], [], None, None, lineno=node.lineno)
            return node

        def visit_Concat(self, node: n.Concat) -> n.Node:
            self.generic_visit(node)
            parts = n.List(list(node.nodes), lineno=node.lineno)
            return n.Filter(parts, CONCAT_FILTER, [], [], None, None, lineno=node.lineno)

    result = Bound().visit(tree)
    result.set_environment(env)
    return result


__all__ = [
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_RENDER_SECONDS",
    "MAX_REPEAT_CHARS",
    "LimitExceeded",
    "bound_tree",
    "install",
    "render_budget",
    "tick",
]
