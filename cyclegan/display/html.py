"""A small dominate page builder: a title, sections of captioned images, tables and inline SVG.

Every file name, caption and table cell is escaped (dominate escapes text and attributes; image
paths are also URL-quoted), so a file named `<img src=x onerror=alert(1)>.jpg` shows as text.
Shared by the training page (web/index.html) and the test-results page.
"""
import html as _html
import os
from pathlib import Path
from urllib.parse import quote

import dominate
from dominate import tags
from dominate.util import raw

from ..io import atomic_write_text

_STYLE = """
body { font-family: sans-serif; margin: 16px; background: #fff; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 24px; }
table.images td { padding: 4px; vertical-align: top; text-align: center; word-break: break-all; }
table.images img { image-rendering: pixelated; border: 1px solid #ccc; }
table.kv { border-collapse: collapse; font-size: 13px; }
table.kv td, table.kv th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
"""


def image_src(path, base_dir):
    """A URL for `path` relative to the page folder, quoted so any file name is a safe link."""
    path = Path(path)
    try:
        rel = os.path.relpath(path, base_dir) if path.is_absolute() else str(path)
    except ValueError:  # another drive on Windows
        rel = str(path)
    return quote(rel.replace(os.sep, "/"), safe="/")


def write_page(path, title, sections=(), tables=(), svgs=(), width=256, refresh=None, notes=(),
               per_row=8, tables_first=False, links=()):
    """Write an HTML page to `path` (atomically, so readers never see half).

    sections: iterable of (heading, [(image_path, caption), ...]) shown in the given order.
    tables:   iterable of (heading, [(key, value), ...]) or (heading, header_list, rows).
    svgs:     iterable of (heading, svg_markup); the markup must already be escaped (plot.py does).
    notes:    iterable of plain text paragraphs shown under the title.
    links:    iterable of (text, target path) shown under the notes; targets become page-relative URLs.
    per_row:  images per table row.
    tables_first: put the tables above the image sections (a summary before the details).
    """
    path = Path(path)
    base = path.parent
    base.mkdir(parents=True, exist_ok=True)
    doc = dominate.document(title=str(title))
    with doc.head:
        tags.meta(charset="utf-8")
        if refresh:
            tags.meta(http_equiv="refresh", content=str(int(refresh)))
        tags.style(raw(_STYLE))
    with doc.body:
        tags.h1(str(title))
        for note in notes:
            tags.p(str(note))
        for text, target in links:
            with tags.p():
                tags.a(str(text), href=image_src(os.path.abspath(target), os.path.abspath(base)))
        for heading, svg in svgs:
            tags.h2(str(heading))
            tags.div(raw(svg), cls="plot")
        for table in tables if tables_first else ():
            _table(*table)
        for heading, items in sections:
            tags.h2(str(heading))
            _image_rows(items, base, width, per_row)
        for table in () if tables_first else tables:
            _table(*table)
    atomic_write_text(path, doc.render())
    return path


def _image_rows(items, base, width, per_row=8):
    items = list(items)
    with tags.table(cls="images"):
        for start in range(0, len(items), per_row):
            with tags.tr():
                for img_path, caption in items[start:start + per_row]:
                    src = image_src(img_path, base)
                    with tags.td():
                        with tags.a(href=src):
                            # never wider than the window allows for per_row pictures
                            tags.img(src=src, style=f"width:{int(width)}px; max-width:calc((100vw - 64px) / "
                                     f"{max(1, min(per_row, len(items)))} - 14px)", alt=str(caption))
                        tags.br()
                        tags.span(str(caption))


def _table(heading, *rest):
    if len(rest) == 1:
        header, rows = ("name", "value"), rest[0]
    else:
        header, rows = rest
    tags.h2(str(heading))
    with tags.table(cls="kv"):
        with tags.tr():
            for h in header:
                tags.th(str(h))
        for row in rows:
            with tags.tr():
                for cell in row:
                    tags.td(str(cell))


def escape(text):
    """HTML-escape text for markup built by hand (SVG labels, visdom text windows)."""
    return _html.escape(str(text), quote=True)
