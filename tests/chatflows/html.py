"""A small HTML reader for page tests (the standard library's parser; no extra dependency).

``parse(html).select("form [data-show=webhook] [name=webhook_url]")`` supports tag names,
``#id``, ``.class``, ``[attr]`` and ``[attr=value]`` joined without spaces, and descendant steps
separated by spaces. ``text()`` is what a person reads: entities decoded, tags dropped."""

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
_PART = re.compile(r"([#.]?[\w-]+)|\[([\w-]+)(?:=\"?([^\]\"]*)\"?)?\]")


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = {name: (value if value is not None else "") for name, value in attrs}
        self.parent = parent
        self.children: list = []  # Nodes and strings

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return "".join(parts)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def select(self, selector: str) -> list["Node"]:
        steps = [_compile(step) for step in selector.split()]
        found = [node for node in self.iter() if steps[-1](node)]
        return [node for node in found if _ancestors_match(node, steps[:-1])]

    def select_one(self, selector: str):
        found = self.select(selector)
        return found[0] if found else None


def _compile(step: str):
    checks = []
    for name, attr, value in _PART.findall(step):
        if name.startswith("#"):
            checks.append(lambda n, v=name[1:]: n.get("id") == v)
        elif name.startswith("."):
            checks.append(lambda n, v=name[1:]: v in n.get("class", "").split())
        elif name:
            checks.append(lambda n, v=name: n.tag == v)
        elif value or step.endswith("=]"):
            checks.append(lambda n, a=attr, v=value: n.get(a) == v)
        else:
            checks.append(lambda n, a=attr: a in n.attrs)
    return lambda node: all(check(node) for check in checks)


def _ancestors_match(node, steps) -> bool:
    if not steps:
        return True
    parent = node.parent
    while parent is not None:
        if steps[-1](parent) and _ancestors_match(parent, steps[:-1]):
            return True
        parent = parent.parent
    return False


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html) -> Node:
    builder = _Builder()
    builder.feed(html.decode() if isinstance(html, bytes) else html)
    builder.close()
    return builder.root
