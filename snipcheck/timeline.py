"""The timeline under an asyncio example (issue 12): what the event loop did in a snippet's run, from the
`timeline` event the run reported (warm/timeline.py), as a static SVG figure, a text table for the terminal, a
short description and table rows for screen readers. Times vary a little between runs, so everything shown is
rounded, and nothing here may fail a run: the figure is a picture of the result, never part of it."""

import ast
import gzip
import html
import re
import unicodedata

from .diagnostics import exception_line, last_frame

KINDS = {  # what a task waited on: (legend, phrase, letter in the text lanes)
    "sleep": ("sleep", "slept {d}", "s"), "lock": ("lock", "waited {d} for {what}", "l"),
    "event": ("event", "waited {d} on {what}", "e"), "queue": ("queue", "waited {d} on {what}", "q"),
    "task": ("tasks", "waited {d} on {what}", "t"), "pool": ("thread", "waited {d} on {what}", "p"),
    "io": ("I/O", "waited {d} on I/O {what}", "i"), "future": ("future", "waited {d} on {what}", "f"),
    "other": ("other", "waited {d} on {what}", "o")}
ROWS = 12  # tasks drawn; the rest are counted
LIMIT = 5000  # tasks, or stretches of one, read from an event
BUDGET = 3000  # bytes, gzipped, a figure should weigh
WIDTH, X0, X1, ROW, TOP = 300, 6, 294, 32, 4
STYLE = ("text{font:12px system-ui,sans-serif;fill:#1f2328}.m{fill:#59636e}.s{font-size:10px}.g{fill:#fff}"
         ".a{stroke:#8c959f;stroke-width:.5}.r{fill:#1f2328;stroke:#1f2328}.b,.x{fill:#cf222e}.h{fill:#7d4e00}"
         ".sleep{fill:#d1d9e0}.lock{fill:#f2cc60}.event{fill:#d8b9ff}.queue{fill:#9be9a8}.task{fill:#b6e3ff}"
         ".pool{fill:#ffc48a}.io{fill:#99e6de}.future,.other{fill:#e6e6e6}"
         "@media(prefers-color-scheme:dark){text{fill:#e6edf3}.m{fill:#9198a1}.g{fill:#0d1117}"
         ".r{fill:#e6edf3;stroke:#e6edf3}.b,.x{fill:#ff7b72}.h{fill:#f2cc60}.sleep{fill:#3d444d}.lock{fill:#6e5400}"
         ".event{fill:#553098}.queue{fill:#1b5e2b}.task{fill:#0c4a84}.pool{fill:#7a3a06}.io{fill:#0d5650}"
         ".future,.other{fill:#30363d}}")
NAMED = re.compile(r"""name=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def of(events: list[dict], step: str | None = None) -> dict | None:
    """A run's timeline (the `timeline` event of `Completed.events`), with what the other diagnostics mark: a
    task whose exception was never retrieved, a coroutine never awaited. With `step` (the block's file, `02.py`),
    only what that block started: a session runs earlier blocks first, in the same process. None when no event
    loop ran, or when the event is not what our recorder writes (the snippet shares its process, so it could
    write one)."""
    try:
        data = next((_checked(e) for e in events if e.get("kind") == "timeline" and e.get("version") == 1), None)
        if data is not None and step is not None:
            data = _only(data, step)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    if data is None or not (data["tasks"] or data["callbacks"]):
        return None
    for event in events:
        message = str(event.get("message") or "")
        first = message.split("\n", 1)[0]
        if event.get("kind") == "warning" and "was never awaited" in first:
            _, line = last_frame(message.partition("Coroutine created at")[2])
            line = line or event.get("lineno")
            data["notes"].append({"text": first, "line": line if isinstance(line, int) else None})
        elif event.get("kind") == "asyncio" and "exception was never retrieved" in first:
            found = NAMED.search(message)
            name = _literal(found.group(1)) if found else None
            for task in data["tasks"]:
                if task["name"] == name:
                    task["unretrieved"] = True
                    task["error"] = task["error"] or exception_line(str(event.get("traceback") or ""))
    return data


def _only(data: dict, step: str) -> dict:
    """What one block started, its times counted from the first of it."""
    tasks = [t for t in data["tasks"] if t["step"] == step]
    callbacks = [c for c in data["callbacks"] if c["step"] == step]
    origin = min([t["created"] for t in tasks] + [c["start"] for c in callbacks], default=0.0)
    last = max([t for task in tasks for t in [task["created"], task["finished"] or 0] + [b for _, b in task["runs"]]
                + [w["end"] for w in task["waits"]]] + [c["end"] for c in callbacks], default=origin)

    def at(value):
        return round(value - origin, 4) if value is not None else None

    def moved(item):
        return {**item, "start": at(item["start"]), "end": at(item["end"])}
    return {**data, "end": at(last), "callbacks": [moved(c) for c in callbacks],
            "tasks": [{**t, "created": at(t["created"]), "finished": at(t["finished"]),
                       "runs": [[at(a), at(b)] for a, b in t["runs"]], "waits": [moved(w) for w in t["waits"]],
                       "blocked": [moved(b) for b in t["blocked"]]} for t in tasks]}


def _checked(event: dict) -> dict:
    """The event as the renderers need it, every field of the type they expect (ValueError, TypeError or
    KeyError when not), bounded in size."""
    def time(value):
        number = float(value)
        if not 0 <= number < 1e6:
            raise ValueError(value)
        return number

    def words(value):
        return str(value)[:200] if value is not None else None

    def line(value):
        return int(value) if value is not None else None

    def stretch(item):
        return {"start": time(item["start"]), "end": time(item["end"])}

    def wait(item):
        return {**stretch(item), "on": words(item["on"]), "label": words(item.get("label")),
                "line": line(item.get("line")), "held": [words(h) for h in item.get("held", [])][:8],
                **({"count": int(item["count"]), "waited": time(item["waited"])} if "count" in item else {})}

    def task(item):
        finished = item.get("finished")
        return {"name": words(item["name"]), "coro": words(item.get("coro")), "args": words(item.get("args")) or "",
                "step": words(item.get("step")),
                "custom": bool(item.get("custom")), "line": line(item.get("line")), "created": time(item["created"]),
                "finished": time(finished) if finished is not None else None, "state": words(item.get("state")),
                "error": words(item.get("error")), "runs": [[time(a), time(b)] for a, b in item["runs"]][:LIMIT],
                "waits": [wait(w) for w in item["waits"]][:LIMIT],
                "blocked": [{**stretch(b), "line": line(b.get("line")), "lines": [line(n) for n in b["lines"]][:2]}
                            for b in item["blocked"]][:LIMIT]}

    return {"end": time(event["end"]), "tasks": [task(t) for t in event["tasks"][:LIMIT]],
            "callbacks": [{**stretch(c), "label": words(c.get("label")), "line": line(c.get("line")),
                           "step": words(c.get("step")),
                           "blocked": bool(c.get("blocked"))} for c in event.get("callbacks", [])][:LIMIT],
            "truncated": bool(event.get("truncated")), "notes": []}


def _literal(text: str) -> str | None:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


# --- words -------------------------------------------------------------------------------------------------------

def seconds(value: float) -> str:
    """Rounded to 2 significant digits, as a reader needs it: `3 s`, `1.5 s`, `300 ms`, `<1 ms`."""
    if value < 0.001:
        return "<1 ms"
    rounded = float(f"{value:.2g}")
    return f"{rounded * 1000:.3g} ms" if rounded < 1 else f"{rounded:g} s"


def _clean(text, limit: int) -> str:
    """Text from the snippet (names, labels), safe to show: no control or invisible characters, bounded."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else "?" for c in str(text or ""))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def title(task: dict) -> str:
    """A task as the code names it: its own name, else its coroutine and plain arguments."""
    if task.get("custom"):
        return _clean(task["name"], 40)
    if task.get("coro") == "<module>":
        return "top-level await"
    return _clean(f"{task.get('coro') or '?'}({task.get('args') or ''})", 40)


def _waits(task: dict) -> list[dict]:
    """Its waits, the same ones (what, label, held) added up, in the order they first came."""
    grouped = {}
    for wait in task.get("waits", []):
        key = (wait.get("on"), wait.get("label"), tuple(wait.get("held") or ()))
        item = grouped.setdefault(key, {**wait, "seconds": 0.0, "times": 0})
        item["seconds"] += wait.get("waited", max(wait["end"] - wait["start"], 0))
        item["times"] += wait.get("count", 1)
    return list(grouped.values())


def _phrase(wait: dict) -> str:
    what = _clean(wait.get("label") or wait.get("on"), 40)
    text = KINDS.get(wait.get("on"), KINDS["other"])[1].format(d=seconds(wait["seconds"]), what=what)
    if wait["times"] > 1:
        text += f" ({wait['times']} times)"
    if wait.get("held"):
        text += " holding " + ", ".join(_clean(h, 20) for h in wait["held"])
    return text


def _outcome(task: dict) -> str:
    state = task.get("state")
    if state == "error":
        error = _clean(task.get("error") or "an exception", 60)
        return f"failed with {error}" + (", never retrieved" if task.get("unretrieved") else "")
    if state == "cancelled":
        return f"cancelled at {seconds(task['finished'])}"
    return f"finished at {seconds(task['finished'])}" if task.get("finished") is not None else "never finished"


def _blocked(item: dict) -> str:
    lines = [n for n in item.get("lines") or [] if n]
    where = f"at line {item['line']}" if item.get("line") else \
        f"between lines {min(lines)} and {max(lines)}" if len(lines) > 1 else f"after line {lines[0]}" if lines else ""
    return f"blocked the loop for {seconds(item['end'] - item['start'])} {where}".strip()


def rows(data: dict) -> list[dict]:
    """One row per task for a table beside the figure: the task, when it ran, what it did."""
    found = []
    for task in data["tasks"]:
        did = [_blocked(b) for b in task.get("blocked", [])] + [_phrase(w) for w in _waits(task)]
        found.append({"task": title(task), "name": _clean(task["name"], 40), "created": seconds(task["created"]),
                      "did": "; ".join(did) or "did not wait", "outcome": _outcome(task)})
    return found


def describe(data: dict) -> str:
    """A short text alternative for the figure."""
    tasks = data["tasks"]
    parts = [f"Timeline of {len(tasks)} task{'s' * (len(tasks) != 1)} over {seconds(data['end'])}."]
    for row in rows(data)[:6]:
        parts.append(f"{row['task']}: {row['did']}; {row['outcome']}.")
    if len(tasks) > 6:
        parts.append(f"And {len(tasks) - 6} more tasks.")
    parts += [f"{_blocked(c)} in callback {_clean(c['label'], 30)}." for c in data["callbacks"] if c["blocked"]]
    parts += [_note(note) + "." for note in data.get("notes", [])]
    return " ".join(parts)


def _note(note: dict) -> str:
    return _clean(note["text"], 80) + (f" (line {note['line']})" if note.get("line") else "")


def text(data: dict, columns: int = 40) -> str:
    """The timeline for the terminal (`--timeline`): a lane per task, then what each did."""
    end = max(data["end"], 1e-6)
    width = max(len(title(t)) for t in data["tasks"] + [{"name": "callbacks", "custom": True}])
    count = len(data["tasks"])
    out = [f"timeline: {count} task{'s' * (count != 1)}, {seconds(data['end'])} (rounded: times vary between runs)",
           f"{'':{width}}  0{seconds(data['end']):>{columns}}"]
    for task in data["tasks"]:
        out.append(f"{title(task):{width}} |{_lane(task, end, columns)}|")
    if data.get("callbacks"):
        out.append(f"{'callbacks':{width}} |{_lane(_callbacks(data), end, columns)}|")
    waits = [wait for task in data["tasks"] for wait in task["waits"]]
    out.append("  ".join(["# running", "! blocked the loop"]
                         + [f"{k[2]} {k[0]}" for on, k in KINDS.items() if on in {w.get("on") for w in waits}]
                         + ["(capital: holding a lock)"] * any(w.get("held") for w in waits)))
    for row, task in zip(rows(data), data["tasks"]):
        out.append(f"{row['name']} {row['task']}: created at {row['created']}, {row['did']}; {row['outcome']}")
    out += [f"callback {_clean(c['label'], 30)}: {_blocked(c)}" for c in data.get("callbacks", []) if c["blocked"]]
    out += [_note(note) for note in data.get("notes", [])]
    if data.get("truncated"):
        out.append("(more happened than was recorded: the timeline stops early)")
    return "\n".join(out) + "\n"


def _callbacks(data: dict) -> dict:
    """The callbacks that are not a task's (the snippet's own, or any that blocked the loop), drawn as a row."""
    return {"runs": [[c["start"], c["end"]] for c in data["callbacks"] if not c["blocked"]],
            "blocked": [c for c in data["callbacks"] if c["blocked"]]}


def _lane(task: dict, end: float, columns: int) -> str:
    """A task's row of characters: in each, what it did longest in that slice of time (blocking always shows)."""
    cells = [{} for _ in range(columns)]

    def add(start, stop, mark):
        first, last = int(start / end * columns), int(stop / end * columns)
        for i in range(max(first, 0), min(last, columns - 1) + 1):
            left, right = max(start, i * end / columns), min(stop, (i + 1) * end / columns)
            cells[i][mark] = cells[i].get(mark, 0) + max(right - left, 1e-9)
    if task.get("created") is not None:
        add(task["created"], task["finished"] if task.get("finished") is not None else end, ".")
    for wait in task.get("waits", []):
        letter = KINDS.get(wait.get("on"), KINDS["other"])[2]
        add(wait["start"], wait["end"], letter.upper() if wait.get("held") else letter)
    for start, stop in task.get("runs", []):
        add(start, stop, "#")
    for item in task.get("blocked", []):
        add(item["start"], item["end"], "!")
    return "".join("!" if "!" in cell else max((mark for mark in cell if mark != "."), key=cell.get, default=".")
                   if cell else " " for cell in cells)


# --- the figure --------------------------------------------------------------------------------------------------

def svg(data: dict) -> str:
    """A static SVG (no script, no outside CSS): a row per task on a time axis, waits labelled with what they
    waited on, a band where a lock was held, red where the loop was blocked; light and dark. Drawn 300 wide so
    that its text stays readable on a 320 px phone; it scales (viewBox). Fewer rows when a busy run would make it
    weigh more than BUDGET gzipped."""
    for count in (ROWS, 8, 5, 3, 1):
        figure = _figure(data, count)
        if len(gzip.compress(figure.encode(), 9)) <= BUDGET:
            break
    return figure


def _figure(data: dict, rows: int) -> str:
    end = max(data["end"], 1e-6)
    tasks, more = data["tasks"][:rows], len(data["tasks"]) - rows
    lanes = [(title(t), t) for t in tasks]
    if data.get("callbacks"):
        lanes.append(("callbacks", _callbacks(data)))
    notes = [("x", _note(n)) for n in data.get("notes", [])] + [("m", f"and {more} more tasks")] * (more > 0)
    kinds = sorted({w.get("on") for t in tasks for w in t.get("waits", []) if w.get("on") in KINDS},
                   key=list(KINDS).index)
    legend = _legend(kinds, any(t.get("blocked") for _, t in lanes),
                     any(w.get("held") for t in tasks for w in t.get("waits", [])))
    axis = TOP + ROW * len(lanes) + 2
    height = axis + 18 + 14 * (len(legend) + len(notes)) + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
           f'height="{height}"><title>{_xml(describe(data), 600)}</title><style>{STYLE}</style>'
           f'<rect class="g" width="{WIDTH}" height="{height}" rx="6"/>']
    for i, (name, task) in enumerate(lanes):
        out += _row(name, task, TOP + ROW * i, end)
    out += _axis(end, axis)
    y = axis + 18
    for line in legend:
        y += 14
        out += [f'<rect class="{css}" x="{left}" y="{y - 8}" width="8" height="8"/>'
                f'<text class="m s" x="{left + 11}" y="{y}">{word}</text>' for left, css, word in line]
    for css, note in notes:
        y += 14
        out.append(f'<text class="{css} s" x="{X0}" y="{y}">{_xml(note, 60)}</text>')
    return "".join(out) + "</svg>"


def _row(name: str, task: dict, y: float, end: float) -> list[str]:
    def x(t):
        return X0 + (X1 - X0) * min(max(t, 0), end) / end
    state, error = task.get("state"), _clean(task.get("error"), 30)
    marks = [_blocked(b).replace("blocked the loop for", "blocked") for b in task.get("blocked", [])][:1] + \
        [f"{error or 'error'}, never retrieved" if task.get("unretrieved") else error if state == "error" else
         "cancelled" if state == "cancelled" else ""]
    mark = " · ".join(m for m in marks if m)
    out = [f'<text x="{X0}" y="{y + 11}">{_xml(name, 44 - len(mark) if mark else 44)}</text>']
    if mark:  # red for what went wrong; a cancelled task is often the plan
        css = "m s" if mark == "cancelled" else "x s"
        out.append(f'<text class="{css}" x="{X1}" y="{y + 11}" text-anchor="end">{_xml(mark, 48)}</text>')
    bar = y + 15
    if task.get("created") is not None:
        stop = task["finished"] if task.get("finished") is not None else end
        out.append(f'<path class="a" d="M{x(task["created"]):.1f} {bar + 6}H{x(stop):.1f}"/>')
    runs = _spans([(x(a), x(b)) for a, b in task.get("runs", [])])
    for wait in _merged(task.get("waits", []), x):
        left, right = x(wait["start"]), x(wait["end"])
        kind = wait.get("on") if wait.get("on") in KINDS else "other"
        out.append(f'<rect class="{kind}" x="{left:.1f}" y="{bar + 1}" width="{right - left:.1f}" height="9"/>')
        if wait.get("held"):
            out.append(f'<rect class="h" x="{left:.1f}" y="{bar + 9}" width="{right - left:.1f}" height="3"/>')
        label = _clean(wait.get("label"), 32)
        room = (left + 1, left + 5.6 * len(label) + 4)  # where its label goes, if no run is drawn over it
        if room[1] < right and not any(a < room[1] and b > room[0] for a, b in runs):
            out.append(f'<text class="s" x="{left + 2:.1f}" y="{bar + 8.5}">{_xml(label, 32)}</text>')
    runs = "".join(f"M{left:.1f} {bar + 6}h{max(right - left, 1):.1f}" for left, right in runs)
    if runs:  # one path for all: a busy task runs hundreds of times
        out.append(f'<path class="r" stroke-width="12" d="{runs}"/>')
    for item in task.get("blocked", []):
        left, right = x(item["start"]), x(item["end"])
        out.append(f'<rect class="b" x="{left:.1f}" y="{bar - 1}" width="{max(right - left, 1.5):.1f}" height="14"/>')
    return out


def _merged(waits: list[dict], x) -> list[dict]:
    """Waits as drawn: the same wait again within a pixel joins the last one (a queue read in a loop)."""
    out = []
    for wait in waits:
        last = out[-1] if out else None
        if last and _same(last, wait) and x(wait["start"]) - x(last["end"]) < 1:
            last["end"] = wait["end"]
        elif x(wait["end"]) - x(wait["start"]) >= 0.3:
            out.append(dict(wait))
    return out


def _same(one: dict, other: dict) -> bool:
    return all(one.get(key) == other.get(key) for key in ("on", "label", "held"))


def _spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for left, right in spans:
        if out and left - out[-1][1] < 1:
            out[-1] = (out[-1][0], max(right, out[-1][1]))
        else:
            out.append((left, right))
    return out


def _axis(end: float, y: float) -> list[str]:
    step = next(s * 10 ** e for e in range(-4, 4) for s in (1, 2, 5) if end / (s * 10 ** e) <= 4)
    out = [f'<path class="a" d="M{X0} {y}H{X1}"/>']
    for i in range(int(end / step + 1e-9) + 1):
        left = X0 + (X1 - X0) * i * step / end
        anchor = ' text-anchor="end"' if left > X1 - 20 else ""
        tick = i * step  # a round number already: 1, 2 or 5 times a power of ten
        words = "0" if i == 0 else f"{tick * 1000:g} ms" if tick < 1 else f"{tick:g} s"
        out.append(f'<path class="a" d="M{left:.1f} {y}v4"/><text class="m s" x="{left:.1f}" y="{y + 14}"{anchor}>'
                   f'{words}</text>')
    return out


def _legend(kinds: list[str], blocked: bool, held: bool) -> list[list[tuple]]:
    """The legend's lines: (x, class, word), wrapped to the figure's width."""
    items = [("r", "running")] + [(k, KINDS[k][0]) for k in kinds] + [("b", "blocked")] * blocked + \
        [("h", "holds lock")] * held
    lines, left = [[]], X0
    for css, word in items:
        width = 18 + 5.5 * len(word)
        if left + width > X1 and lines[-1]:
            lines.append([])
            left = X0
        lines[-1].append((left, css, word))
        left += width
    return lines


def _xml(text, limit: int) -> str:
    return html.escape(_clean(text, limit), quote=True)
