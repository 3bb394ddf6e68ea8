"""The notebook model, read from the code alone: which earlier blocks of a post a block must run after (those
that define the names it uses), which blocks only define things, and coroutine functions no block ever runs.
Blocks are `(index, source)` pairs in page order; nothing here runs them."""

import ast
import builtins
import io
import keyword
import re
import symtable
import tokenize
import warnings
from dataclasses import dataclass

MODULE_NAMES = {"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__",
                "__annotations__", "__cached__"}
BUILTINS = set(dir(builtins)) | MODULE_NAMES


def is_empty(code: str) -> bool:
    return not code.strip()


@dataclass
class _Names:
    binds: set[str]  # module names it binds: at module level, or in a function through `global`
    star: bool  # `from x import *`: it may bind any name
    early: set[str]  # names its module-level code uses before it binds them
    later: set[str]  # module names its functions, lambdas and methods use when they are called
    changes: set[str]  # names whose objects its module-level code changes: `Point.__add__ = add`, `rows.append(r)`


def bound(source: str) -> set[str]:
    """The module-level names a block binds (imports, definitions, assignments)."""
    return _read(source).binds


def needs(blocks: list[tuple[int, str]]) -> dict[int, list[int]]:
    """For each block, the earlier blocks it must run after, in page order: each name it uses and does not
    bind first is resolved to the latest earlier block that binds it, and so on for what those blocks use.
    A function's body looks names up when it is called, so the names a needed block's functions use resolve
    from the block that calls them (a helper redefined in between is the one it gets). A needed block brings
    the later blocks that change what it made (a monkey-patched class, a list appended to, a seeded `random`).
    A block with `from x import *` may bind anything: a name met after it also needs it (builtins excepted)."""
    read = [_read(source) for _, source in blocks]
    return {blocks[k][0]: [blocks[p][0] for p in sorted(_needed(read, k))] for k in range(len(blocks))}


def _needed(read: list[_Names], k: int) -> set[int]:
    own, deps = read[k], set()
    pending = [(name, k) for name in own.early | (own.later - own.binds)]

    def add(p: int) -> None:
        if p in deps:
            return
        deps.add(p)
        pending.extend((n, p) for n in read[p].early)  # its own code runs when it does
        pending.extend((n, k) for n in read[p].later if n not in own.binds)  # its functions run when k calls them
        for m in range(p + 1, k):
            if any(p in _binders(read, n, m) for n in read[m].changes & read[p].binds):
                add(m)

    while pending:
        name, before = pending.pop()
        for p in _binders(read, name, before):
            add(p)
    return deps


def _binders(read: list[_Names], name: str, before: int) -> list[int]:
    maybe = []
    for p in range(before - 1, -1, -1):
        if name in read[p].binds:
            return maybe + [p]
        if read[p].star and name not in BUILTINS:
            maybe.append(p)
    return maybe


def _read(source: str) -> _Names:
    walker = _Walker()
    for part, parsed in _parts(source):
        if parsed is None:
            walker.tokens(part)
            continue
        walker.body(parsed.body)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                uses, binds = _in_functions(symtable.symtable(part, "<block>", "exec"))
        except (SyntaxError, ValueError):
            uses, binds = set(), set()
        walker.later |= uses
        walker.binds |= binds
    return _Names(walker.binds, walker.star, walker.early, walker.later, walker.changes)


STARTS_INSIDE = re.compile(r"^(?:else|elif|except|finally|case)\b|^[)\]}]|^\s|^$")


def _parts(source: str) -> list[tuple[str, ast.Module | None]]:
    """The block as parsed parts. A block that does not parse is read statement by statement, from each
    top-level line to the shortest stretch that parses; a stretch that never parses is read from its tokens."""
    tree = _parse(source)
    if tree is not None:
        return [(source, tree)]
    lines = source.split("\n")
    starts = [n for n, text in enumerate(lines) if not STARTS_INSIDE.match(text)] or [0]
    ends, parts, i = starts[1:] + [len(lines)], [], 0
    if starts[0]:
        parts.append(("\n".join(lines[:starts[0]]), None))
    while i < len(starts):
        for j in range(i, len(starts)):
            text = "\n".join(lines[starts[i]:ends[j]])
            tree = _parse(text)
            if tree is not None:
                parts.append((text, tree))
                i = j + 1
                break
        else:
            parts.append(("\n".join(lines[starts[i]:ends[i]]), None))
            i += 1
    return parts


def _parse(text: str) -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return None


COMPREHENSIONS = {"listcomp", "setcomp", "dictcomp", "genexpr"}


def _in_functions(table: symtable.SymbolTable, top: bool = True) -> tuple[set[str], set[str]]:
    """(module names used, module names bound through `global`) inside function bodies, lambdas and methods.
    A class body or a comprehension at module level runs at once: the walker reads those in order."""
    uses, binds = set(), set()
    for child in table.get_children():
        at_once = top and (child.get_type() == "class" or child.get_name() in COMPREHENSIONS)
        if not at_once:
            for symbol in child.get_symbols():
                if symbol.is_global() and symbol.is_referenced():
                    uses.add(symbol.get_name())
                if symbol.is_declared_global() and symbol.is_assigned():
                    binds.add(symbol.get_name())
        deeper = _in_functions(child, at_once)
        uses |= deeper[0]
        binds |= deeper[1]
    return uses, binds


class _Walker:
    """Module-level statements in the order they run: what each uses before the block has bound it."""

    def __init__(self, bound: set[str] = frozenset()):
        self.bound, self.binds, self.early, self.later, self.star = set(bound), set(), set(), set(), False
        self.changes = set()

    def body(self, statements: list[ast.stmt]) -> None:
        for s in statements:
            self.statement(s)

    def bind(self, name: str) -> None:
        self.bound.add(name)
        self.binds.add(name)

    def use(self, node: ast.AST | None) -> None:
        if node is None:
            return
        loads, walrus = _names_in(node)
        self.early |= loads - self.bound
        for name in walrus:
            self.bind(name)

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        else:  # `x.attr = …`, `x[i] = …` use x, and change it
            self.use(node)
            self.changes |= _root(node)

    def statement(self, s: ast.stmt) -> None:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in [*s.decorator_list, s.args, s.returns]:
                self.use(node)
            self.bind(s.name)
        elif isinstance(s, ast.ClassDef):
            for node in [*s.decorator_list, *s.bases, *s.keywords]:
                self.use(node)
            inside = _Walker(self.bound)  # the class body: its own names, then the module's
            inside.body(s.body)
            self.early |= inside.early
            self.bind(s.name)
        elif isinstance(s, ast.Assign):
            self.use(s.value)
            for t in s.targets:
                self.target(t)
        elif isinstance(s, ast.AugAssign):
            self.use(s.value)
            self.use(ast.Name(s.target.id, ast.Load()) if isinstance(s.target, ast.Name) else s.target)
            self.target(s.target)
        elif isinstance(s, ast.AnnAssign):
            self.use(s.annotation)
            self.use(s.value)
            self.target(s.target) if s.value is not None or not isinstance(s.target, ast.Name) else None
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self.use(s.iter)
            self.target(s.target)
            self.body(s.body + s.orelse)
        elif isinstance(s, (ast.While, ast.If)):
            self.use(s.test)
            self.body(s.body + s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                self.use(item.context_expr)
                self.target(item.optional_vars) if item.optional_vars else None
            self.body(s.body)
        elif isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.body(s.body)
            for handler in s.handlers:
                self.use(handler.type)
                self.bind(handler.name) if handler.name else None
                self.body(handler.body)
            self.body(s.orelse + s.finalbody)
        elif isinstance(s, ast.Import):
            for alias in s.names:
                self.bind(alias.asname or alias.name.split(".")[0])
        elif isinstance(s, ast.ImportFrom):
            for alias in s.names:
                self.star = self.star or alias.name == "*"
                self.bind(alias.asname or alias.name) if alias.name != "*" else None
        elif isinstance(s, ast.Match):
            self.use(s.subject)
            for case in s.cases:
                self.pattern(case.pattern)
                self.use(case.guard)
                self.body(case.body)
        elif type(s).__name__ == "TypeAlias":  # Python 3.12: its value is evaluated lazily
            self.bind(s.name.id)
        elif not isinstance(s, (ast.Global, ast.Nonlocal)):
            self.use(s)
            self.changes |= _changed(s)

    def pattern(self, node: ast.pattern) -> None:
        for part in ast.walk(node):
            if isinstance(part, (ast.MatchValue, ast.MatchClass)):
                self.use(part.value if isinstance(part, ast.MatchValue) else part.cls)
            name = getattr(part, "name", None) or getattr(part, "rest", None)
            if name:
                self.bind(name)

    def tokens(self, text: str) -> None:
        """A part that does not parse: every name in it is taken as used, and the obvious bindings as bound."""
        binds = _bound_by_lines(text)
        self.early |= set(_token_names(text)) - binds - self.bound
        for name in binds:
            self.bind(name)
        self.star = self.star or bool(re.search(r"^\s*from\s+\S+\s+import\s+\*", text, re.M))


MUTATORS = {"append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "add", "discard",
            "setdefault", "sort", "reverse", "seed", "manual_seed"}


def _changed(s: ast.stmt) -> set[str]:
    """Names whose objects a statement changes in place: `del x.a`, `x.append(…)`, `setattr(x, …)`."""
    if isinstance(s, ast.Delete):
        return {name for t in s.targets if not isinstance(t, ast.Name) for name in _root(t)}
    call = s.value if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) else None
    if call is None:
        return set()
    if isinstance(call.func, ast.Attribute) and call.func.attr in MUTATORS:
        return _root(call.func.value)
    if isinstance(call.func, ast.Name) and call.func.id in ("setattr", "delattr") and call.args:
        return _root(call.args[0])
    return set()


def _root(node: ast.expr) -> set[str]:
    """The name an attribute, item or call chain starts from: `a` for `a.b[0].c`."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _names_in(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names an expression loads, names its walruses bind), without the bodies of its lambdas (called
    later) and without a comprehension's own variables."""
    loads, walrus = set(), set()

    def visit(n: ast.AST, local: frozenset) -> None:
        if isinstance(n, ast.Name):
            if not isinstance(n.ctx, ast.Store) and n.id not in local:
                loads.add(n.id)
        elif isinstance(n, ast.NamedExpr):
            visit(n.value, local)
            walrus.add(n.target.id)
        elif isinstance(n, ast.Lambda):
            visit(n.args, local)
        elif isinstance(n, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            own = local | {t.id for g in n.generators for t in ast.walk(g.target) if isinstance(t, ast.Name)}
            visit(n.generators[0].iter, local)
            for g in n.generators:
                for part in ([g.iter] if g is not n.generators[0] else []) + g.ifs:
                    visit(part, own)
            for part in (n.key, n.value) if isinstance(n, ast.DictComp) else (n.elt,):
                visit(part, own)
        else:
            for child in ast.iter_child_nodes(n):
                visit(child, local)

    visit(node, frozenset())
    return loads, walrus


def _token_names(text: str) -> list[str]:
    names, previous = [], ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string) and previous != ".":
                names.append(token.string)
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                previous = token.string
    except (tokenize.TokenError, SyntaxError):
        pass  # what was read before the error still counts
    return names


BINDING_LINES = [
    re.compile(r"^\s*(?:async\s+)?def\s+(\w+)"), re.compile(r"^\s*class\s+(\w+)"),
    re.compile(r"^\s*for\s+([\w\s,()]+?)\s+in\s"),
    re.compile(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?:[-+*/%&|^@]|//|\*\*)?=(?!=)"),
]


def _bound_by_lines(text: str) -> set[str]:
    bound = set()
    for line in text.split("\n"):
        for pattern in BINDING_LINES:
            found = pattern.match(line)
            if found:
                bound |= set(re.findall(r"[A-Za-z_]\w*", found.group(1)))
        imported = re.match(r"^\s*(?:from\s+\S+\s+)?import\s+\(?([^)#]+)", line)
        if imported:
            for alias in imported.group(1).split(","):
                words = alias.split()
                if words and words[0] != "*":
                    bound.add(words[-1] if len(words) == 3 and words[1] == "as" else words[0].split(".")[0])
    return bound


def definitions_only(source: str) -> bool:
    """Whether a block only defines things — imports, functions, classes, constants, also under `if`/`try`
    (`try: import x / except ImportError: x = None`). Not a failure by itself: later blocks may use them."""
    tree = _parse(source)
    return tree is not None and bool(tree.body) and all(_defines(s) for s in tree.body)


DEFINING_CALLS = {"namedtuple", "NamedTuple", "TypedDict", "TypeVar", "NewType", "ParamSpec", "TypeVarTuple",
                  "getLogger", "compile", "partial", "field", "Enum"}


def _defines(s: ast.stmt) -> bool:
    if isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)):
        return True
    if isinstance(s, ast.Expr):
        return isinstance(s.value, ast.Constant)  # a docstring, `...`
    if isinstance(s, (ast.Assign, ast.AnnAssign)):
        return s.value is None or _constant(s.value)
    if isinstance(s, ast.If):
        return _constant(s.test) and all(_defines(b) for b in s.body + s.orelse)
    if isinstance(s, ast.Try):
        return all(_defines(b) for b in s.body + s.orelse + s.finalbody + [x for h in s.handlers for x in h.body])
    return type(s).__name__ == "TypeAlias"


def _constant(node: ast.expr) -> bool:
    for part in ast.walk(node):
        if isinstance(part, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(part, ast.Call):
            called = part.func.attr if isinstance(part.func, ast.Attribute) else getattr(part.func, "id", "")
            if called not in DEFINING_CALLS:
                return False
    return True


def unrun_coroutines(blocks: list[tuple[int, str]]) -> list[tuple[int, str, int]]:
    """Coroutine functions (`async def`) that no block of the post ever calls or even names — the asyncio
    pitfall of a `main` that is never run — as (block index, name, line in the block). Methods, decorated
    functions (a framework runs them) and dunders (the language does) are left out."""
    defined, named = [], set()
    for index, source in blocks:
        tree = _parse(source)
        if tree is None:
            named |= set(_token_names(source))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
                named.add(node.id)
            elif isinstance(node, ast.Attribute):
                named.add(node.attr)
        defined += [(index, f.name, f.lineno) for f in _coroutines(tree.body)]
    return [found for found in defined if found[1] not in named]


def _coroutines(statements: list[ast.stmt]):
    for s in statements:
        if isinstance(s, ast.AsyncFunctionDef) and not s.decorator_list and not s.name.startswith("__"):
            yield s
        if not isinstance(s, ast.ClassDef):
            for field_name in ("body", "orelse", "finalbody"):
                yield from _coroutines(getattr(s, field_name, []))
            for handler in getattr(s, "handlers", []):
                yield from _coroutines(handler.body)
