"""Just enough of a browser for the load test's journeys: the forms of a page
(what a browser would submit: hidden fields with the CSRF token, text, selected
options, checked boxes, textareas), its links, the page kind (the ``<body>``
class), a unit's kind line and the messages Django's message framework shows.
Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

TEXT_INPUTS = {"", "text", "hidden", "password", "email", "tel", "number", "date", "search", "url",
               "datetime-local", "time"}  # fmt: skip


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # the submit buttons' text
    options: dict[str, list[str]] = field(default_factory=dict)  # a select's option values

    def get(self, name: str, default: str = "") -> str:
        return next((v for n, v in self.fields if n == name), default)

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self.fields)

    def data(self, button: tuple[str, str] | None = None, **values: str) -> list[tuple[str, str]]:
        """The fields a browser would post, with ``values`` replacing (or adding)
        fields, and the pressed ``button`` (name, value) if it has a name."""
        out = [(n, values.pop(n) if n in values else v) for n, v in self.fields]
        out += list(values.items())
        if button and button[0]:
            out.append(button)
        return out


@dataclass
class Page:
    url: str
    forms: list[Form] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    body_class: str = ""
    unit_kind: str = ""
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text)

    def form(self, action_contains: str = "", *, having: str = "") -> Form | None:
        """The first form whose action contains ``action_contains`` and which
        has a field named ``having``."""
        for form in self.forms:
            if action_contains in form.action and (not having or form.has(having)):
                return form
        return None

    def local_links(self) -> list[str]:
        """Paths of the links to this site (no query strings or fragments dropped)."""
        here = urlsplit(self.url)
        out = []
        for href in self.links:
            bits = urlsplit(urljoin(self.url, href))
            if bits.scheme in ("http", "https") and bits.netloc == here.netloc:
                out.append(bits.path + (f"?{bits.query}" if bits.query else ""))
        return list(dict.fromkeys(out))


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.form: Form | None = None
        self.select: tuple[str, bool] | None = None  # name, multiple
        self.options: list[tuple[str, bool]] = []  # value, selected
        self.option: dict | None = None
        self.textarea: str | None = None
        self.capture: str | None = None  # kind, message:<level>, textarea, option, button
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "body":
            self.page.body_class = a.get("class", "")
        elif tag == "a" and "href" in a:
            self.page.links.append(a["href"])
        elif tag == "form":
            self.form = Form(
                action=urljoin(self.page.url, a.get("action") or self.page.url),
                method=(a.get("method") or "get").lower(),
            )
            self.page.forms.append(self.form)
        elif tag == "p" and "unit-header__kind" in classes:
            self._start("kind")
        elif tag == "li" and "message" in classes:
            level = next((c.split("--", 1)[1] for c in classes if c.startswith("message--")), "")
            self._start(f"message:{level}")
        elif self.form is None:
            return
        elif tag == "input":
            kind = a.get("type", "").lower()
            name = a.get("name")
            if not name or "disabled" in a:
                return
            if kind in TEXT_INPUTS:
                self.form.fields.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.form.fields.append((name, a.get("value", "on")))
            elif kind in ("submit", "image"):
                self.form.buttons.append((name, a.get("value", "")))
        elif tag == "button":
            if a.get("type", "submit").lower() == "submit":
                self.form.buttons.append((a.get("name", ""), a.get("value", "")))
                self._start("button")
        elif tag == "select" and a.get("name") and "disabled" not in a:
            self.select = (a["name"], "multiple" in a)
            self.options = []
        elif tag == "option" and self.select is not None:
            self.option = {"value": a.get("value"), "selected": "selected" in a}
            self._start("option")
        elif tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self._start("textarea")

    def _start(self, what: str) -> None:
        self.capture, self.text = what, []

    def handle_data(self, data):
        if self.capture:
            self.text.append(data)

    def handle_endtag(self, tag):
        text = "".join(self.text)
        if tag == "p" and self.capture == "kind":
            self.page.unit_kind, self.capture = text.strip(), None
        elif tag == "li" and (self.capture or "").startswith("message:"):
            self.page.messages.append((self.capture.split(":", 1)[1], " ".join(text.split())))
            self.capture = None
        elif tag == "option" and self.option is not None:
            value = self.option["value"]
            self.options.append((text.strip() if value is None else value, self.option["selected"]))
            self.option, self.capture = None, None
        elif tag == "button" and self.capture == "button" and self.form is not None:
            self.form.labels.append(" ".join(text.split()))
            self.capture = None
        elif tag == "select" and self.select is not None and self.form is not None:
            name, multiple = self.select
            self.form.options[name] = [v for v, _ in self.options]
            chosen = [v for v, selected in self.options if selected]
            if not chosen and not multiple and self.options:
                chosen = [self.options[0][0]]  # what a browser submits
            self.form.fields.extend((name, v) for v in (chosen if multiple else chosen[:1]))
            self.select = None
        elif tag == "textarea" and self.textarea is not None and self.form is not None:
            # A newline right after <textarea> is not part of the value.
            self.form.fields.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea, self.capture = None, None
        elif tag == "form":
            self.form = None


def parse(html: str, url: str) -> Page:
    page = Page(url=url)
    parser = _Parser(page)
    parser.feed(html)
    parser.close()
    return page
