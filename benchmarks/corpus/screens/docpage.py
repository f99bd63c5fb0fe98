"""A long documentation page with a fixed sidebar, made from Python's own docstrings.

The browser clip of ``record_screens.py`` scrolls this page. It is built at record time from
the docstrings of a dozen standard-library modules (``inspect.getdoc``, ``inspect.signature``),
so nothing is downloaded and the same Python makes the same page. It looks like a generated
reference manual: a fixed left sidebar (``position: fixed``) with a search box and the table of
contents, and a content pane with headings, a summary table per module, signatures, paragraphs,
lists and code blocks (the doctest examples). Fonts are DejaVu (Debian's ``fonts-dejavu-core``).

Usage: python benchmarks/corpus/screens/docpage.py OUT.html
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import sys
from pathlib import Path

MODULES = (
    "textwrap", "string", "difflib", "json", "functools", "itertools",
    "collections", "pathlib", "shutil", "heapq", "bisect", "base64",
)  # fmt: skip
METHODS_PER_CLASS = 10
SIDEBAR_ITEMS = 4  # members listed under each module in the sidebar

CSS = """
* { box-sizing: border-box; }
html { scroll-behavior: auto; }
body { margin: 0; font: 15px/1.55 "DejaVu Sans", sans-serif; color: #1f2328; background: #fff; }
nav.side { position: fixed; top: 0; left: 0; bottom: 0; width: 280px; overflow: hidden;
  background: #f1f3f6; border-right: 1px solid #d0d7de; padding: 18px 16px; font-size: 13.5px; }
nav.side .brand { font-size: 19px; font-weight: bold; color: #24536f; margin-bottom: 2px; }
nav.side .version { color: #57606a; margin-bottom: 12px; }
nav.side input { width: 100%; padding: 6px 9px; border: 1px solid #afb8c1; border-radius: 5px;
  font: inherit; margin-bottom: 14px; background: #fff; }
nav.side .caption { text-transform: uppercase; letter-spacing: .06em; font-size: 11.5px;
  color: #57606a; margin: 10px 0 4px; font-weight: bold; }
nav.side ul { list-style: none; margin: 0; padding: 0; }
nav.side li { margin: 1px 0; }
nav.side li a { color: #0b5cad; text-decoration: none; }
nav.side li.mod > a { font-weight: bold; color: #24292f; }
nav.side li.mod.current > a { color: #b35900; }
nav.side ul ul { padding-left: 14px; margin-bottom: 4px; }
nav.side ul ul a { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
main { margin-left: 280px; padding: 26px 56px 80px 48px; max-width: 1180px; }
.crumbs { color: #57606a; font-size: 13px; margin-bottom: 8px; }
.crumbs a { color: #0b5cad; text-decoration: none; }
h1 { font-size: 30px; margin: 0 0 10px; color: #24292f; }
h2 { font-size: 24px; margin: 44px 0 10px; padding-bottom: 6px; border-bottom: 2px solid #d8dee4;
  color: #24536f; }
h2 code { font-size: 22px; background: none; color: #24536f; }
h3 { font-size: 16px; margin: 26px 0 6px; }
h4 { font-size: 15px; margin: 16px 0 4px 24px; }
dl.api { margin: 0 0 0 24px; }
code, pre, .sig { font-family: "DejaVu Sans Mono", monospace; }
code { font-size: 13px; background: #eff1f3; padding: 1px 4px; border-radius: 3px; }
.sig { display: inline-block; background: #e9f2fb; border-left: 4px solid #3b82c4;
  padding: 4px 10px; font-size: 14px; font-weight: normal; }
.sig .name { font-weight: bold; color: #0a3069; }
.sig .kw { color: #8250df; font-style: italic; }
.body { margin-left: 24px; }
pre { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 10px 14px;
  font-size: 13px; line-height: 1.45; overflow: hidden; }
pre .prompt { color: #a0522d; }
pre .out { color: #57606a; }
table.summary { border-collapse: collapse; margin: 12px 0 8px; width: 100%; font-size: 14px; }
table.summary td { border-top: 1px solid #d8dee4; padding: 5px 10px; vertical-align: top; }
table.summary tr:nth-child(even) td { background: #f6f8fa; }
table.summary td:first-child { white-space: nowrap; width: 1%; }
.note { background: #fff8e6; border-left: 4px solid #d4a72c; padding: 8px 14px; margin: 12px 0;
  border-radius: 0 5px 5px 0; }
.note b { color: #7d5800; }
footer { margin-top: 60px; color: #57606a; font-size: 13px; border-top: 1px solid #d8dee4;
  padding-top: 10px; }
"""


def esc(text: str) -> str:
    """Escaped text with reST-style inline markup turned into HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"``(.+?)``", r"<code>\1</code>", out)
    out = re.sub(r"`([^`\s][^`]*?)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", out)
    return out


def code_block(lines: list[str]) -> str:
    """A <pre> block: prompts and doctest output coloured."""
    rows = []
    for line in lines:
        if line.startswith((">>> ", "... ")) or line in (">>>", "..."):
            rows.append(f'<span class="prompt">{html.escape(line[:3])}</span>'
                        f"{html.escape(line[3:])}")  # fmt: skip
        elif any(ln.startswith(">>>") for ln in lines):
            rows.append(f'<span class="out">{html.escape(line)}</span>')
        else:
            rows.append(html.escape(line))
    return "<pre>" + "\n".join(rows) + "</pre>"


def render_doc(doc: str) -> str:
    """A docstring as HTML: paragraphs, lists, notes and code blocks."""
    parts: list[str] = []
    literal_next = False
    for para in re.split(r"\n\s*\n", doc.strip()):
        lines = para.splitlines()
        if not lines:
            continue
        first = lines[0]
        indented = [ln for ln in lines[1:] if ln.startswith((" ", "\t"))]
        if literal_next or first.startswith((">>>", "    ", "\t")):
            parts.append(code_block(inspect.cleandoc("\n".join(lines)).splitlines()))
        elif all(ln.lstrip().startswith(("- ", "* ")) or ln.startswith("  ") for ln in lines):
            items, cur = [], ""
            for ln in lines:
                if ln.lstrip().startswith(("- ", "* ")):
                    if cur:
                        items.append(cur)
                    cur = ln.lstrip()[2:]
                else:
                    cur += " " + ln.strip()
            items.append(cur)
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
        elif indented and len(indented) == len(lines) - 1:
            body = inspect.cleandoc("\n".join(lines[1:])).splitlines()
            parts.append(f"<p><b>{esc(first.rstrip(':'))}</b></p>" + code_block(body))
        elif first.lower().startswith(("note", "warning", "caution")):
            text = " ".join(ln.strip() for ln in lines)
            head, _, rest = text.partition(" ")
            parts.append(f'<div class="note"><b>{esc(head)}</b> {esc(rest)}</div>')
        else:
            text = " ".join(ln.strip() for ln in lines)
            parts.append(f"<p>{esc(text.rstrip(':') + ':' if text.endswith('::') else text)}</p>")
        literal_next = lines[-1].rstrip().endswith("::")
    return "\n".join(parts)


def signature(name: str, obj: object) -> str:
    """``name(params)`` as HTML, or the bare name when there is no signature."""
    try:
        sig = str(inspect.signature(obj))  # type: ignore[arg-type]
        sig = re.sub(r" at 0x[0-9a-f]+", "", sig)  # default values' addresses vary by run
    except (TypeError, ValueError):
        sig = "(...)" if callable(obj) else ""
    kw = "class " if inspect.isclass(obj) else ""
    kw_html = f'<span class="kw">{kw}</span>' if kw else ""
    name_html = f'<span class="name">{esc(name)}</span>'
    return f'<code class="sig">{kw_html}{name_html}{html.escape(sig)}</code>'


def members(mod: object) -> list[tuple[str, object]]:
    """The public functions and classes of a module that have docstrings, in __all__ order."""
    names = getattr(mod, "__all__", None) or sorted(n for n in vars(mod) if not n.startswith("_"))
    out = []
    for name in names:
        obj = getattr(mod, name, None)
        if not (inspect.isclass(obj) or callable(obj)) or not inspect.getdoc(obj):
            continue
        home = getattr(obj, "__module__", mod.__name__).lstrip("_")
        if home not in (mod.__name__, "builtins") and not hasattr(mod, "__all__"):
            continue  # imported from elsewhere
        out.append((name, obj))
    return out


def methods(cls: type) -> list[tuple[str, object]]:
    """Up to METHODS_PER_CLASS public methods defined on the class itself, with docstrings."""
    found = []
    for name, obj in vars(cls).items():
        if name.startswith("_") or not callable(obj) or not inspect.getdoc(obj):
            continue
        found.append((name, obj))
    return found[:METHODS_PER_CLASS]


def summary_line(obj: object) -> str:
    """The first sentence of the docstring, shortened to 120 characters."""
    text = (inspect.getdoc(obj) or "").strip().split("\n\n")[0].replace("\n", " ")
    text = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
    return text if len(text) <= 120 else text[:119].rsplit(" ", 1)[0] + " …"


def module_section(modname: str) -> tuple[str, str]:
    """(content HTML, sidebar HTML) for one module."""
    mod = importlib.import_module(modname)
    doc = inspect.getdoc(mod) or ""
    title = doc.splitlines()[0].rstrip(".") if doc else modname
    mems = members(mod)
    out = [f'<section id="{modname}">',
           f"<h2><code>{modname}</code> — {esc(title)}</h2>",
           render_doc("\n".join(doc.splitlines()[1:])) if doc else ""]  # fmt: skip
    if mems:
        rows = "".join(
            f'<tr><td><a href="#{modname}.{n}"><code>{esc(n)}</code></a></td>'
            f"<td>{esc(summary_line(o))}</td></tr>"
            for n, o in mems
        )
        out.append(f'<table class="summary">{rows}</table>')
    for name, obj in mems:
        out.append(f'<h3 id="{modname}.{name}">{signature(name, obj)}</h3>')
        out.append(f'<div class="body">{render_doc(inspect.getdoc(obj) or "")}</div>')
        if inspect.isclass(obj):
            for mname, meth in methods(obj):
                out.append(f"<h4>{signature(mname, meth)}</h4>")
                out.append(f'<div class="body" style="margin-left:48px">'
                           f"{render_doc(inspect.getdoc(meth) or '')}</div>")  # fmt: skip
    out.append("</section>")
    subs = "".join(
        f'<li><a href="#{modname}.{n}">{esc(n)}</a></li>' for n, _ in mems[:SIDEBAR_ITEMS]
    )
    cls = ' class="mod current"' if modname == MODULES[0] else ' class="mod"'
    side = f'<li{cls}><a href="#{modname}">{modname}</a><ul>{subs}</ul></li>'
    return "\n".join(out), side


def build_page() -> str:
    """The whole HTML document."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    sections, side = zip(*(module_section(m) for m in MODULES), strict=True)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Text, data and file services — Python {version} library reference</title>
<style>{CSS}</style></head>
<body>
<nav class="side">
<div class="brand">Python {version} Library</div>
<div class="version">Reference manual · generated</div>
<input type="search" placeholder="Search the docs…" value="">
<div class="caption">Text, data and files</div>
<ul>{"".join(side)}</ul>
</nav>
<main>
<div class="crumbs"><a href="#">Library</a> » <a href="#">Text, data and file services</a></div>
<h1>Text, data and file services</h1>
<p>The modules described in this chapter provide text processing, data structures, functional
tools and file operations. This page is generated from the docstrings of the installed
Python {version}: each section starts with the module's own documentation, a summary of its
public names, and then every function and class with its signature.</p>
{"".join(sections)}
<footer>Generated from the docstrings of Python {sys.version.split()[0]} by docpage.py.</footer>
</main>
</body></html>
"""


def write_page(path: Path) -> Path:
    """Write the page to ``path`` (UTF-8) and return it."""
    path.write_text(build_page(), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.rsplit("Usage: ", 1)[1])
    print(write_page(Path(sys.argv[1])))
