"""The documentation holds together: the README stays a front door (at most 200 lines), every relative link in
README.md and docs/*.md points at a file that exists, every docs page opens with the one-line question it answers
and is listed with that question in docs/README.md, and every docs/ page the code or scripts name exists."""
import re

from conftest import REPO

DOCS = REPO / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def pages():
    return sorted(DOCS.glob("*.md"))


def relative_links(path):
    """(target file, line number) of every link that is not a URL; an #anchor is dropped."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # http:, https:, mailto:, or a place on the same page
            found.append((target.split("#")[0], number))
    return found


def test_readme_is_a_front_door_of_at_most_200_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move reference material to docs/"


def test_every_relative_link_points_at_a_file_that_exists():
    files = [REPO / "README.md"] + pages()
    assert len(files) > 10 and any(relative_links(f) for f in files)
    broken = [f"{f.relative_to(REPO)}:{n}: {target}" for f in files for target, n in relative_links(f)
              if not (f.parent / target).exists()]
    assert broken == [], broken


def question(page):
    """The page's first line after its '# ' title: the question it answers."""
    lines = [line for line in page.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines[0].startswith("# "), f"{page.name} starts with a '# ' title"
    return lines[1]


def test_every_page_opens_with_its_question_and_the_index_lists_it():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in pages():
        q = question(page)
        assert q.endswith("?") and not q.startswith(("#", "|", "-", "`")), f"{page.name}: {q!r}"
        if page.name != "README.md":
            assert f"| [{page.name}]({page.name}) | {q} |" in index, f"docs/README.md lists {page.name} as: {q}"


def test_every_docs_page_the_code_names_exists():
    named = set()
    for folder in ("cyclegan", "options", "scripts", "tests", ".ci"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".sh", "") and path.name != "test_docs.py":
                named |= {(m, path.relative_to(REPO)) for m in re.findall(r"docs/[\w.-]+\.md", path.read_text(
                    encoding="utf-8", errors="replace"))}
    assert named, "the code points at docs/ pages (error messages, help texts)"
    missing = sorted(f"{where}: {page}" for page, where in named if not (REPO / page).is_file())
    assert missing == [], missing
