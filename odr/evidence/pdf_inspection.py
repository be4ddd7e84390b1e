"""Whether an uploaded PDF is safe to hand to the other party, judged within fixed bounds.

Evidence and a partner agency's outcome document both come here through
`odr.evidence.checks.check_pdf`, which runs `inspect_pdf` in a child process limited to `SECONDS`
of CPU and of wall time and `MEMORY_MB` of address space (`odr.bounded.run_bounded`): however
hostile the file, the serving process only waits, and receives nothing but the verdict.

The file is read in two ways, and whatever either finds is judged by the same rules (`Reading`):

- **As it lies** (`read_raw`): a tokenizer walks the bytes from the first to the last, so strings,
  comments and stream data are passed over by their syntax (never by searching for `obj`); each
  object is parsed into plain values; object streams, known by the `/Type /ObjStm` of the
  stream's own dictionary, are decoded and parsed too. This finds objects that no
  cross-reference lists, which a reader repairing the file would use. A file without a catalog
  named as its root and a page is unreadable.
- **As a reader reads it** (`read_listed`): pypdf opens the file and, following its
  cross-references, reads every object that the walk did not find where they say it is (inside
  what the walk took for a string or a stream's data, or in an object stream it did not see as
  one). An encrypted file is read whole by pypdf, decrypting it with the empty password (one that
  needs a password is refused): the walk can read neither its strings nor its object streams.

Bounds, each refused as too costly: `MAX_INFLATED` bytes decoded in all, one budget for every
stream either reading decodes (pypdf's decoder is wrapped to count against it; pypdf caps each
stream but not their total, and keeps them all in memory); `MAX_OBJECTS` objects; containers
nested `MAX_DEPTH` deep and holding `MAX_ELEMENTS` items at most. An object stream filtered other
than by Flate, ASCIIHex or ASCII85, or with a predictor, cannot be read as it lies and is refused
as unreadable (the writers we know use Flate alone).

Active content is refused by allow-list. An action is the value of `/OpenAction`, `/A` or
`/Next`, each entry of an `/AA`, and any dictionary that calls itself one (`/Type /Action`, or a
standard action type as its `/S`); it may only be `/GoTo` (a place in the same document), or a
`/URI` to an `http:`, `https:` or `mailto:` address as the `/A` of a `/Link` annotation: an
invoice's link to the shop does nothing until the reader clicks it, and viewers ask first.
Whatever acts by itself when the file is opened, a page shown or a field touched (`/OpenAction`,
`/AA`, other than `/GoTo`), or opens other files (`/GoToR` to a UNC path, `/Launch`), sends,
resets or imports forms, plays media, runs scripts or does anything not on the list is refused.
JavaScript, embedded files, rich media and XFA forms are refused by their names wherever they
appear.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import itertools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import pypdf.filters
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PdfReadError
from pypdf.generic import (
    ByteStringObject,
    IndirectObject,
    NameObject,
    TextStringObject,
)

MB = 1024 * 1024
MAX_INFLATED = 64 * MB
MAX_OBJECTS = 100_000
MAX_DEPTH = 100
MAX_ELEMENTS = 100_000
SECONDS = 4
MEMORY_MB = 768

Verdict = Literal["accepted", "active", "action", "unreadable", "too_costly"]

FORBIDDEN_NAMES = frozenset(
    {"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA"}
)
# ISO 32000-2, table 201: by these an action is known wherever it stands.
ACTION_TYPES = frozenset(
    {
        "/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound", "/Movie",
        "/Hide", "/Named", "/SubmitForm", "/ResetForm", "/ImportData", "/SetOCGState",
        "/Rendition", "/Trans", "/GoTo3DView", "/JavaScript", "/RichMediaExecute",
    }
)  # fmt: skip
ALLOWED_ACTIONS = frozenset({"/GoTo"})
LINK_ACTIONS = frozenset({"/URI"})  # also allowed as the /A of a /Link annotation
WEB_ADDRESS = re.compile(rb"(?i)(?:https?://[^\s\\/]|mailto:[^\s\\])")


class TooCostly(ValueError):
    """The file needs more than the bounds allow to be read."""


class InflationLimit(TooCostly):
    """Its streams inflate past `MAX_INFLATED` bytes in all."""


class Unreadable(ValueError):
    """The file cannot be read (damaged, a password, a stream that cannot be decoded)."""


# ---- plain values --------------------------------------------------------------------------------


class Name(str):
    """A PDF name, `#xx` escapes decoded: `/J#61vaScript` is `/JavaScript`."""


class PdfString(bytes):
    """A string's bytes as written: `literal` between parentheses, else hexadecimal."""

    literal = True


class HexString(PdfString):
    literal = False


class Ref(NamedTuple):
    number: int
    generation: int


_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|[\s\S])")
_ESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def string_bytes(value: Any) -> bytes | None:
    """The bytes a PDF string stands for (escapes and hexadecimal decoded); None if no string."""
    if not isinstance(value, PdfString):
        return None
    if not value.literal:
        digits = re.sub(rb"[^0-9A-Fa-f]", b"", value)
        return binascii.unhexlify(digits + b"0" * (len(digits) % 2))

    def unescape(match: re.Match[bytes]) -> bytes:
        escaped = match[1]
        if escaped[:1].isdigit() and escaped[:1] not in b"89":
            return bytes([int(escaped, 8) & 0xFF])
        if escaped in (b"\r\n", b"\r", b"\n"):
            return b""  # a line continued
        return _ESCAPED.get(escaped, escaped)

    return _ESCAPE.sub(unescape, value)


# ---- the judgement, shared by both readings ------------------------------------------------------


@dataclass
class Reading:
    """What a reading of the file found: its names, its actions and where each stands, and what
    tells that it is a PDF at all (a catalog, a page).

    `as_it_lies`: strings were read as written, so in an encrypted file (`encrypted`, as pypdf
    finds it) an address cannot be judged by this reading; pypdf's, which decrypts, judges it."""

    as_it_lies: bool = False
    names: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)  # the /S of each action refused
    addresses: list[bytes | None] = field(default_factory=list)  # URIs to no web address
    objects: int = 0
    pages: int = 0
    catalogs: set[Ref] = field(default_factory=set)
    roots: set[Ref] = field(default_factory=set)
    encrypted: bool = False
    undecodable: int = 0  # object streams that do not inflate
    starts: dict[int, Ref] = field(default_factory=dict)  # where each `n g obj` begins
    members: dict[int, set[int]] = field(default_factory=dict)  # object stream: its objects
    _actions: dict[Ref, list[tuple[Name, Any]]] = field(default_factory=dict)
    _dictionaries: dict[Ref, list[dict[str, Any]]] = field(default_factory=dict)
    _pending: list[tuple[Ref, bool]] = field(default_factory=list)
    _pending_triggers: list[Ref] = field(default_factory=list)

    def verdict(self) -> Verdict:
        """Call once, when everything is read: actions held by reference are judged then."""
        self._resolve()
        if self.names & FORBIDDEN_NAMES:
            return "active"
        if self.refused or (self.addresses and not (self.as_it_lies and self.encrypted)):
            return "action"
        if self.undecodable and not self.encrypted:
            return "unreadable"
        return "accepted"

    def is_a_document(self) -> bool:
        """A catalog that a trailer names as its root, and a page."""
        return bool(self.catalogs & self.roots) and self.pages > 0

    def count_objects(self, count: int) -> None:
        self.objects += count
        if self.objects > MAX_OBJECTS:
            raise TooCostly(f"more than {MAX_OBJECTS} objects")

    def visit(self, value: Any, ref: Ref | None = None) -> None:
        """Every name and dictionary in `value`, one object (`ref` when it is an indirect one)."""
        pending: list[tuple[Any, int]] = [(value, 0)]
        while pending:
            item, depth = pending.pop()
            if depth > MAX_DEPTH:
                raise TooCostly("nested too deep")
            if isinstance(item, Name):
                self.names.add(item)
            elif isinstance(item, dict):
                self.names.update(item)
                self.note_dictionary(item, ref if depth == 0 else None)
                pending.extend((child, depth + 1) for child in item.values())
            elif isinstance(item, list):
                pending.extend((child, depth + 1) for child in item)

    def note_dictionary(self, item: dict[str, Any], ref: Ref | None) -> None:
        """Judge the actions in `item` (an object's own dictionary when `ref` is given)."""
        kind = item.get("/S")
        if isinstance(kind, Name) and (kind in ACTION_TYPES or item.get("/Type") == "/Action"):
            self._judge(kind, item.get("/URI"), in_link=None)  # where it stands is not known here
            if ref is not None:
                self._actions.setdefault(ref, []).append((kind, item.get("/URI")))
        kind = item.get("/Type")
        if kind == "/Page":
            self.pages += 1
        elif kind == "/Catalog" and ref is not None:
            self.catalogs.add(ref)
        if isinstance(item.get("/Root"), Ref):
            self.roots.add(item["/Root"])
        in_link = item.get("/Subtype") == "/Link"
        for key in ("/A", "/OpenAction", "/Next"):
            if key in item:
                self._action_at(item[key], in_link=in_link and key == "/A", chain=key == "/Next")
        triggers = item.get("/AA")
        if isinstance(triggers, dict):
            for action in triggers.values():
                self._action_at(action, in_link=False)
        elif isinstance(triggers, Ref):
            self._pending_triggers.append(triggers)
        if ref is not None and item and all(isinstance(v, dict | Ref) for v in item.values()):
            self._dictionaries.setdefault(ref, []).append(item)  # perhaps an /AA by reference

    def _action_at(self, value: Any, *, in_link: bool, chain: bool = False) -> None:
        """`value` stands where an action does: judge it now, or what it refers to at the end."""
        if isinstance(value, dict):
            kind = value.get("/S")
            if isinstance(kind, Name):
                self._judge(kind, value.get("/URI"), in_link=in_link)
        elif isinstance(value, Ref):
            self._pending.append((value, in_link))
        elif isinstance(value, list) and chain:  # /Next may be a list of actions
            for action in value:
                self._action_at(action, in_link=False)
        # an /OpenAction that is a list is a destination: a place in this document

    def _judge(self, kind: Name, uri: Any, *, in_link: bool | None) -> None:
        """`in_link`: the /A of a /Link annotation (True), anywhere else (False), not known."""
        if kind in ALLOWED_ACTIONS:
            return
        if kind not in LINK_ACTIONS or in_link is False:
            self.refused.add(kind)
            return
        address = string_bytes(uri)
        if address is None or not WEB_ADDRESS.match(address):
            self.addresses.append(address)

    def _resolve(self) -> None:
        """Judge the actions held by reference, from where they are referred to."""
        for ref, in_link in self._pending:
            for kind, uri in self._actions.get(ref, ()):
                self._judge(kind, uri, in_link=in_link)
        for ref in self._pending_triggers:
            for triggers in self._dictionaries.get(ref, ()):
                for action in triggers.values():
                    if isinstance(action, Ref):
                        for kind, uri in self._actions.get(action, ()):
                            self._judge(kind, uri, in_link=False)
                    else:
                        self._action_at(action, in_link=False)
        self._pending.clear()
        self._pending_triggers.clear()


class Budget:
    """Bytes that may still be decoded, for all the streams of one file together."""

    def __init__(self, total: int = MAX_INFLATED) -> None:
        self.total = self.left = total

    def take(self, size: int) -> None:
        """Count `size` bytes decoded; once past the total, this and every later call raise."""
        self.left -= size
        if self.left < 0:
            raise InflationLimit(f"streams inflate past {self.total} bytes in all")


# ---- reading as it lies --------------------------------------------------------------------------

_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
_TOKEN = re.compile(
    rb"[\x00\t\n\x0c\r ]*+(?:"
    rb"(/" + _REGULAR + rb"*+)"  # 1: a name
    rb"|([+-]?\d++)(?!" + _REGULAR + rb")"  # 2: an integer
    rb"|(<<|\[)"  # 3: a dictionary or an array opens
    rb"|(>>|\])"  # 4: ... closes
    rb"|\(([^()\\]*+)\)"  # 5: a literal string without escapes or parentheses in it
    rb"|(" + _REGULAR + rb"++)"  # 6: a keyword, a real number, R
    rb"|<([0-9A-Fa-f\x00\t\n\x0c\r ]*+)>"  # 7: a hexadecimal string
    rb"|(\()"  # 8: any other literal string
    rb"|%[^\r\n]*+|[<>(){}]|\Z"  # a comment, a stray delimiter, a brace, the end: skipped
    rb")"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STRING_PART = re.compile(rb"[()\\]")
_ENDSTREAM = re.compile(rb"[\x00\t\n\x0c\r ]*endstream")
_SPACES = re.compile(rb"[\x00\t\n\x0c\r ]*")
_DIGITS = re.compile(rb"\d+")


def read_raw(data: bytes, budget: Budget | None = None) -> Reading:
    """The file as it lies, from its first byte to its last, object streams included."""
    reading = Reading(as_it_lies=True)
    _parse(data, reading, budget or Budget())
    return reading


def _parse(  # noqa: C901, PLR0912, PLR0915 (one loop over the tokens, kept in one place for speed)
    data: bytes, reading: Reading, budget: Budget, numbered: dict[int, int] | None = None
) -> None:
    """Walk `data` token by token. Names are noted as they come, dictionaries judged as they
    close, with the reference of the object they belong to: from `n g obj` in a file, or from
    `numbered` (where each object starts: its number) in an object stream."""
    names: dict[bytes, Name] = {}
    stack: list[list[Any]] = []  # the arrays and dictionaries open
    recent: list[tuple[Any, int]] = []  # the latest top-level values, with where each began
    current: Ref | None = None  # the object being read
    opened_at = 0
    position, end = 0, len(data)
    while position < end:
        jump = -1
        for match in _TOKEN.finditer(data, position):
            kind = match.lastindex
            value: Any
            if kind == 1:
                raw = match[1]
                value = names.get(raw)
                if value is None:
                    value = names[raw] = _name(raw)
                    reading.names.add(value)
            elif kind == 2:
                value = int(match[2])
            elif kind == 3:
                if len(stack) >= MAX_DEPTH:
                    raise TooCostly("nested too deep")
                if not stack:
                    opened_at = match.start(3)
                stack.append([])
                continue
            elif kind == 4:
                if not stack:
                    continue
                items = stack.pop()
                if match[4] == b"]":
                    value = items
                else:
                    value = _dictionary(items)
                    if stack:  # an object's own dictionary is judged below, with its number
                        reading.note_dictionary(value, None)
            elif kind == 5:
                value = PdfString(match[5])
            elif kind == 6:
                word = match[6]
                if word == b"R":
                    _close_reference(stack[-1] if stack else None)
                    continue
                value = word
            elif kind == 7:
                value = HexString(match[7])
            elif kind == 8:
                jump = _string_end(data, match.end())
                value = PdfString(data[match.end() : jump - 1])
            else:
                continue

            if stack:
                stack[-1].append(value)
                if len(stack[-1]) > MAX_ELEMENTS:
                    raise TooCostly("too many items in one array or dictionary")
            elif numbered is not None:  # in an object stream, each object starts at its offset
                started = opened_at if kind == 4 else match.start(kind)
                if started in numbered:
                    current = Ref(numbered[started], 0)
                elif kind == 4:
                    current = None  # a value where no object starts: judged, but by no number
                if isinstance(value, dict):
                    reading.note_dictionary(value, current)
            elif value == b"obj":
                if len(recent) >= 2 and type(recent[-2][0]) is type(recent[-1][0]) is int:
                    current = Ref(recent[-2][0], recent[-1][0])
                    reading.starts[recent[-2][1]] = current
                    reading.count_objects(1)
                recent.clear()
            elif value == b"endobj":
                current = None
                recent.clear()
            elif value == b"stream":
                dictionary = recent[-1][0] if recent and isinstance(recent[-1][0], dict) else {}
                jump = _read_stream(data, match.end(), dictionary, current, reading, budget)
                recent.clear()
            else:
                if isinstance(value, dict):
                    reading.note_dictionary(value, current)
                recent.append((value, opened_at if kind == 4 else match.start(kind)))
                del recent[:-3]
            if jump >= 0:
                break
        else:
            break  # no token left
        position = jump


def _string_end(data: bytes, position: int) -> int:
    """Where the literal string opened just before `position` ends (past its `)`)."""
    depth = 1
    while True:
        found = _STRING_PART.search(data, position)
        if found is None:
            return len(data) + 1
        mark = data[found.start()]
        if mark == 0x5C:  # a backslash escapes the byte after it
            position = found.start() + 2
            continue
        position = found.end()
        depth += 1 if mark == 0x28 else -1
        if depth == 0:
            return position


def _name(raw: bytes) -> Name:
    if b"#" in raw:
        raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), raw)
    return Name(raw.decode("latin-1"))


def _dictionary(items: list[Any]) -> dict[str, Any]:
    """Pairs of a name and a value; anything else between them is dropped."""
    if all(isinstance(key, Name) for key in items[::2]):
        return dict(zip(items[::2], items[1::2], strict=False))
    result: dict[str, Any] = {}
    index = 0
    while index + 1 < len(items):
        if isinstance(items[index], Name):
            result[items[index]] = items[index + 1]
            index += 2
        else:
            index += 1
    return result


def _close_reference(values: list[Any] | None) -> None:
    """`n g R` at the end of `values` becomes one Ref (at the top level it means nothing)."""
    if (
        values is not None
        and len(values) >= 2
        and type(values[-2]) is type(values[-1]) is int
        and values[-2] >= 0
    ):
        generation = values.pop()
        values[-1] = Ref(values[-1], generation)


def _read_stream(
    data: bytes,
    position: int,
    dictionary: dict[str, Any],
    current: Ref | None,
    reading: Reading,
    budget: Budget,
) -> int:
    """Past the stream's data, read when it is an object stream; where reading goes on."""
    if data.startswith(b"\r\n", position):
        position += 2
    elif data[position : position + 1] in (b"\n", b"\r"):
        position += 1
    length = dictionary.get("/Length")
    after = None
    if type(length) is int and length >= 0:
        after = _ENDSTREAM.match(data, position + length)
    if after is not None:
        stop, resume = position + length, after.end()
    else:
        found = data.find(b"endstream", position)
        stop, resume = (found, found + len(b"endstream")) if found >= 0 else (len(data),) * 2
    if dictionary.get("/Type") == "/ObjStm":
        _read_object_stream(data[position:stop], dictionary, current, reading, budget)
    return resume


def _read_object_stream(
    raw: bytes, dictionary: dict[str, Any], current: Ref | None, reading: Reading, budget: Budget
) -> None:
    count = dictionary.get("/N")
    count = count if type(count) is int and count > 0 else 0
    reading.count_objects(count)
    content = _decode(raw, dictionary, budget)
    if content is None:  # an encrypted file's, or damaged
        reading.undecodable += 1
        return
    first = dictionary.get("/First")
    first = first if type(first) is int and 0 <= first <= len(content) else 0
    digits = itertools.islice(_DIGITS.finditer(content, 0, first), 2 * count)
    header = [int(found[0]) for found in digits]
    body = content[first:]
    numbered = {}  # where each object starts (past the white space its offset may point to)
    for number, offset in zip(header[::2], header[1::2], strict=False):
        numbered[_SPACES.match(body, offset).end()] = number
    if current is not None:
        reading.members.setdefault(current.number, set()).update(header[::2])
    _parse(body, reading, budget, numbered)


FLATE = ("/FlateDecode", "/Fl")
HEX = ("/ASCIIHexDecode", "/AHx")
BASE85 = ("/ASCII85Decode", "/A85")


def _decode(raw: bytes, dictionary: dict[str, Any], budget: Budget) -> bytes | None:
    """An object stream's content, each byte counted against the budget; None when it does not
    inflate (an encrypted file's streams do not). Unreadable when a filter is not Flate,
    ASCIIHex or ASCII85, or has a predictor."""
    filters = dictionary.get("/Filter", [])
    filters = filters if isinstance(filters, list) else [filters]
    parameters = dictionary.get("/DecodeParms", [])
    parameters = parameters if isinstance(parameters, list) else [parameters]
    for each in parameters:
        if isinstance(each, dict) and each.get("/Predictor", 1) != 1:
            raise Unreadable("an object stream with a predictor")
    for name in filters:
        if name in FLATE:
            inflated = _inflate(raw, budget)
            if inflated is None:
                return None
            raw = inflated
        elif name in HEX:
            raw = string_bytes(HexString(raw.split(b">", 1)[0])) or b""
            budget.take(len(raw))
        elif name in BASE85:
            raw = _base85(raw)
            budget.take(len(raw))
        else:
            raise Unreadable(f"an object stream filtered by {name}")
    return raw


def _inflate(raw: bytes, budget: Budget) -> bytes | None:
    """Flate-decoded, never past the budget; a damaged stream gives what comes before the
    damage, as lenient readers do; None when nothing inflates."""
    inflater = zlib.decompressobj()
    inflated = bytearray()
    step = 64 * 1024
    for at in range(0, len(raw), step):
        try:
            inflated += inflater.decompress(raw[at : at + step], budget.left + 1 - len(inflated))
        except zlib.error:
            break
        if inflater.unconsumed_tail or len(inflated) > budget.left:
            raise InflationLimit(f"streams inflate past {budget.total} bytes in all")
        if inflater.eof:
            break
    budget.take(len(inflated))
    return bytes(inflated) or None


def _base85(raw: bytes) -> bytes:
    text = re.sub(rb"[\x00\t\n\x0c\r ]", b"", raw).removeprefix(b"<~").split(b"~>", 1)[0]
    try:
        return base64.a85decode(text)
    except ValueError:
        raise Unreadable("damaged ASCII85") from None


# ---- reading as a reader does --------------------------------------------------------------------


def read_listed(data: bytes, reading: Reading, budget: Budget | None = None) -> Reading:
    """Add to `reading` (the file as it lies) what pypdf finds through the cross-references
    where the walk found no such object: an object the cross-reference places inside what the
    walk took for a string or a stream's data, or in an object stream it could not see as one.

    An encrypted file is read whole by pypdf, which decrypts it (with the empty password; a file
    that needs one is refused): the walk could read neither its strings nor its object streams.
    That reading is returned; otherwise `reading`. Every stream pypdf decodes is counted against
    `budget`."""
    budget = budget or Budget()
    limits = {
        f"{kind}_maximum_output_length": MAX_INFLATED
        for kind in ("array_based_stream", "jbig2", "lzw", "run_length", "zlib", "brotli")
    }
    try:
        with (
            apply_configuration(
                **limits,
                maximum_declared_stream_length=MAX_INFLATED,
                zlib_maximum_recovery_input_length=MB,
                array_maximum_element_count=MAX_ELEMENTS,
                dictionary_maximum_element_count=MAX_ELEMENTS,
                page_tree_maximum_entries=MAX_OBJECTS,
            ),
            _decoding_counted(budget),
        ):
            reader = PdfReader(
                io.BytesIO(data), strict=False, xref_stream_maximum_entries=MAX_OBJECTS
            )
            listed = [
                (Ref(number, generation), offset)
                for generation, offsets in reader.xref.items()
                for number, offset in offsets.items()
            ]
            if len(listed) + len(reader.xref_objStm) > MAX_OBJECTS:
                raise TooCostly(f"more than {MAX_OBJECTS} objects")
            reading.encrypted = reader.is_encrypted
            if reader.is_encrypted:
                if not reader.decrypt(""):
                    raise Unreadable("encrypted with a password")
                reading = Reading()
                if len(reader.pages) == 0:
                    raise Unreadable("no pages")
                reading.visit(_plain(reader.trailer))
                unseen = [ref for ref, _offset in listed]
                unseen += [Ref(number, 0) for number in reader.xref_objStm]
            else:
                unseen = [
                    ref
                    for ref, offset in listed
                    if isinstance(offset, int)
                    and reading.starts.get(_SPACES.match(data, offset).end()) != ref
                ]
                unseen += [
                    Ref(number, 0)
                    for number, (stream, _index) in reader.xref_objStm.items()
                    if number not in reading.members.get(stream, ())
                ]
            for ref in unseen:
                value = IndirectObject(ref.number, ref.generation, reader).get_object()
                reading.visit(_plain(value), ref)
    except (LimitReachedError, PdfReadError) as error:
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, LimitReachedError | TooCostly):
            cause = cause.__cause__ or cause.__context__  # pypdf wraps some limits in others
        raise (TooCostly if cause is not None else Unreadable)(str(error)) from None
    return reading


@contextlib.contextmanager
def _decoding_counted(budget: Budget) -> Iterator[None]:
    """Every stream pypdf decodes counted against `budget`. pypdf caps each stream (75 MB by
    default) but not their total, and keeps each decoded object stream in memory: without this,
    a file of many small streams that each inflate to the cap would inflate them all. It swaps a
    module global: meant for the child process that runs one inspection, not for threads."""
    decode = pypdf.filters.decode_stream_data

    def counted(stream: Any) -> bytes:
        decoded = decode(stream)
        budget.take(len(decoded))
        return decoded

    pypdf.filters.decode_stream_data = counted  # looked up there at each call (StreamObject)
    try:
        yield
    finally:
        pypdf.filters.decode_stream_data = decode


def _plain(value: Any, depth: int = 0) -> Any:
    """A pypdf object as the plain values `read_raw` makes: names, strings, references, lists and
    dictionaries (a stream's dictionary, not its data)."""
    if depth > MAX_DEPTH:
        raise TooCostly("nested too deep")
    if isinstance(value, IndirectObject):
        return Ref(value.idnum, value.generation)
    if isinstance(value, NameObject):
        return Name(value)
    if isinstance(value, dict):
        return {str(key): _plain(item, depth + 1) for key, item in dict.items(value)}
    if isinstance(value, list):
        return [_plain(item, depth + 1) for item in list.__iter__(value)]
    if isinstance(value, TextStringObject):
        return HexString(binascii.hexlify(value.original_bytes))
    if isinstance(value, ByteStringObject):
        return HexString(binascii.hexlify(bytes(value)))
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return b""


# ---- the verdict ---------------------------------------------------------------------------------


def inspect_pdf(data: bytes) -> Verdict:
    """The verdict on a PDF's bytes. Run it bounded: see `odr.evidence.checks.check_pdf`."""
    budget = Budget()
    try:
        as_it_lies = read_raw(data, budget)
        if as_it_lies.names & FORBIDDEN_NAMES:
            return "active"
        as_read = read_listed(data, as_it_lies, budget)
        if as_read is not as_it_lies:  # encrypted: read twice, judged twice
            verdicts = {as_it_lies.verdict(), as_read.verdict()}
        else:
            if not as_it_lies.is_a_document():
                return "unreadable"
            verdicts = {as_it_lies.verdict()}
        if budget.left < 0:  # pypdf may have carried on past a stream the budget refused
            return "too_costly"
    except (TooCostly, RecursionError, MemoryError):
        return "too_costly"
    except Exception:  # pypdf fails in many ways on hostile input; each means "unreadable"
        return "unreadable"
    for verdict in ("active", "action", "unreadable"):
        if verdict in verdicts:
            return verdict
    return "accepted"
