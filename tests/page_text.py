"""A built report page read as a reader sees it: its visible text, its images and its links."""

import html.parser


class PageText(html.parser.HTMLParser):
    """A page's visible text (whitespace collapsed, styles and scripts left out), its images' attributes
    and its links' targets."""

    def __init__(self, page: str):
        super().__init__()
        self.parts, self.images, self.links, self._skip = [], [], [], False
        self.feed(page)
        self.text = " ".join(" ".join(self.parts).split())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)
