"""Photos and videos in ISO base media files (HEIC, MP4, QuickTime), judged by their bytes.

`container_type` names the type from the `ftyp` box alone, cheaply, in the serving process.
`inspect_media` then judges the file and runs only in a child process bounded in time and memory
(`odr.evidence.checks.check_media`, through `odr.bounded.run_bounded`):

- A picture (PNG, JPEG, WebP, HEIC) is decoded and a thumbnail made from it: at most
  `THUMBNAIL_SIZE` pixels a side, turned as its EXIF orientation says, written afresh as WebP with
  no metadata (no place, no camera, no time). A HEIC that libheif (pillow-heif) cannot decode, or
  with more than `MAX_PIXELS`, is refused; for the other types a picture that cannot be decoded
  only goes without a thumbnail, as before thumbnails existed.
- A video's boxes are walked without decoding anything: each box must lie inside its parent and
  the file, the file must start with `ftyp` and hold one `moov` with its `mvhd` and media data
  (`mdat`), a track whose handler is `vide`, chunk offsets inside the file, and data references
  that are all "self-contained" (a reference movie that makes a player fetch other files or
  addresses is refused). The duration comes from `mvhd` (or `mehd` for a fragmented file).

Nothing here knows Flask: the module is imported by the forkserver (`odr.bounded.PRELOAD`).
"""

from __future__ import annotations

import io
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pillow_heif
from PIL import Image

THUMBNAIL_SIZE = 320
MAX_PIXELS = 64_000_000  # a 48-megapixel phone photo passes
SECONDS = 10
MEMORY_MB = 1024

HEIC_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"})
MP4_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9"}
    | {"mp41", "mp42", "avc1", "mmp4", "M4V ", "M4VH", "M4VP"}
)
QUICKTIME_BRANDS = frozenset({"qt  "})
# Brands that say "not a photo or a video we take", whatever else they list.
OTHER_BRANDS = frozenset({"avif", "avis", "M4A ", "M4B ", "M4P ", "crx ", "jp2 ", "jpx "})

MAX_BOXES = 200_000
MAX_DEPTH = 16
CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"edts", b"mvex", b"moof", b"traf"}
)

Verdict = Literal[
    "accepted",
    "unreadable",  # a HEIC that does not decode
    "too_many_pixels",
    "broken",  # a video whose boxes do not fit together
    "external",  # a video that refers to data outside the file
    "no_video",  # no video track (sound only, or nothing)
    "length_unknown",
]


@dataclass(frozen=True)
class MediaVerdict:
    verdict: Verdict
    thumbnail: bytes | None = field(default=None, repr=False)
    seconds: float | None = None  # a video's duration


# ---- the type, from the ftyp box ----------------------------------------------------------------


def brands(data: bytes) -> list[str]:
    """The major brand, then the compatible ones, of a file that starts with an `ftyp` box."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return []
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > min(len(data), 4096) or size % 4:
        return []
    found = [data[8:12]] + [data[at : at + 4] for at in range(16, size, 4)]
    return [brand.decode("latin-1") for brand in found]


def container_type(data: bytes) -> str | None:
    """`image/heic`, `video/mp4` or `video/quicktime` by the brands; None for anything else."""
    listed = brands(data)
    if not listed or OTHER_BRANDS & set(listed[:1]):
        return None
    for candidates in (listed[:1], listed[1:]):  # the major brand decides first
        if HEIC_BRANDS.intersection(candidates):
            return None if "avif" in listed else "image/heic"
        if MP4_BRANDS.intersection(candidates):
            return "video/mp4"
        if QUICKTIME_BRANDS.intersection(candidates):
            return "video/quicktime"
    return None


# ---- the judgement, in the bounded child --------------------------------------------------------


def inspect_media(data: bytes, media_type: str, max_pixels: int = MAX_PIXELS) -> MediaVerdict:
    """The verdict on a picture or a video of `media_type`; run it bounded (see the docstring)."""
    if media_type.startswith("video/"):
        try:
            return MediaVerdict("accepted", seconds=video_seconds(data))
        except BadVideo as bad:
            return MediaVerdict(bad.verdict)
    return _inspect_picture(data, media_type, max_pixels)


def _inspect_picture(data: bytes, media_type: str, max_pixels: int) -> MediaVerdict:
    heic = media_type == "image/heic"
    try:
        if heic:
            heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
            width, height = heif.size
            if width * height > max_pixels:
                return MediaVerdict("too_many_pixels")
            image = heif.to_pillow()  # decodes the primary image; libheif applies its rotation
        else:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                return MediaVerdict("accepted")
            image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))  # JPEG: decode smaller
        return MediaVerdict("accepted", thumbnail=thumbnail_of(image))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, RuntimeError):
        return MediaVerdict("unreadable" if heic else "accepted")


_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def thumbnail_of(image: Image.Image) -> bytes:
    """A small WebP of the picture, upright, carrying nothing but its pixels."""
    orientation = image.getexif().get(0x0112)
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    if orientation in _TURNS:
        image = image.transpose(_TURNS[orientation])
    alpha = "A" in image.getbands() or "transparency" in image.info
    mode = "RGBA" if alpha else "RGB"
    pixels = image.convert(mode)
    clean = Image.new(mode, pixels.size)  # a new image: no EXIF, XMP or ICC profile comes along
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


# ---- the video's boxes --------------------------------------------------------------------------


class BadVideo(Exception):
    def __init__(self, verdict: Verdict, why: str) -> None:
        super().__init__(why)
        self.verdict = verdict


class Box(NamedTuple):
    kind: bytes
    start: int  # of the payload, after the header
    end: int


def _boxes(data: bytes, start: int, end: int, *, top: bool) -> Iterator[Box]:
    at = start
    while at < end:
        if end - at < 8:
            raise BadVideo("broken", f"a box header at {at} runs past its parent")
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if end - at < 16:
                raise BadVideo("broken", f"a large box header at {at} runs past its parent")
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0 and top:  # the last box, to the end of the file
            size = end - at
        if size < header or at + size > end:
            raise BadVideo("broken", f"box {kind!r} at {at} ends past its parent or the file")
        yield Box(kind, at + header, at + size)
        at += size


@dataclass
class _Walk:
    data: bytes
    boxes: int = 0
    # by kind: each box of that kind with the kind of its parent (b"" at the top)
    found: dict[bytes, list[tuple[bytes, Box]]] = field(default_factory=dict)

    def walk(self, start: int, end: int, parent: bytes, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise BadVideo("broken", "boxes nested too deep")
        for box in _boxes(self.data, start, end, top=depth == 0):
            self.boxes += 1
            if self.boxes > MAX_BOXES:
                raise BadVideo("broken", "too many boxes")
            self.found.setdefault(box.kind, []).append((parent, box))
            if box.kind in CONTAINERS:
                self.walk(box.start, box.end, box.kind, depth + 1)
            elif box.kind == b"dref":  # a full box with an entry count, then the entries
                self.walk(box.start + 8, box.end, box.kind, depth + 1)

    def all(self, kind: bytes, parent: bytes | None = None) -> list[Box]:
        return [box for p, box in self.found.get(kind, []) if parent is None or p == parent]


def video_seconds(data: bytes) -> float:
    """The duration of a well-formed, self-contained video; BadVideo otherwise."""
    walk = _Walk(data)
    walk.walk(0, len(data), b"", 0)
    top = walk.all(b"ftyp", b"")
    if not top or top[0].start != 8:
        raise BadVideo("broken", "the file does not start with ftyp")
    if len(walk.all(b"moov", b"")) != 1 or not walk.all(b"mdat", b""):
        raise BadVideo("broken", "not one moov, or no mdat")
    _self_contained(walk)
    handlers = {data[box.start + 8 : box.start + 12] for box in walk.all(b"hdlr", b"mdia")}
    if b"vide" not in handlers:
        raise BadVideo("no_video", "no video track")
    _offsets_inside(walk)
    return _duration(walk)


def _self_contained(walk: _Walk) -> None:
    entries = [box for found in walk.found.values() for parent, box in found if parent == b"dref"]
    for entry in entries:
        if entry.end - entry.start < 4:
            raise BadVideo("broken", "a data reference without flags")
        if not walk.data[entry.start + 3] & 1:  # flag 1: the data is in this file
            raise BadVideo("external", "a data reference to another file")


def _offsets_inside(walk: _Walk) -> None:
    for kind, code in ((b"stco", "I"), (b"co64", "Q")):
        for box in walk.all(kind, b"stbl"):
            if box.end - box.start < 8:
                raise BadVideo("broken", f"{kind!r} too short")
            count = int.from_bytes(walk.data[box.start + 4 : box.start + 8], "big")
            width = array(code).itemsize
            if box.start + 8 + count * width > box.end:
                raise BadVideo("broken", f"{kind!r} lists more entries than it holds")
            offsets = array(code, walk.data[box.start + 8 : box.start + 8 + count * width])
            offsets.byteswap()
            if offsets and max(offsets) >= len(walk.data):
                raise BadVideo("broken", "a chunk offset past the end of the file")


def _duration(walk: _Walk) -> float:
    headers = walk.all(b"mvhd", b"moov")
    if len(headers) != 1:
        raise BadVideo("broken", "not one mvhd")
    box = headers[0]
    version = walk.data[box.start]
    layout = ">4xQQIQ" if version == 1 else ">4xIIII"
    if box.end - box.start < struct.calcsize(layout):
        raise BadVideo("broken", "mvhd too short")
    _created, _modified, timescale, duration = struct.unpack_from(layout, walk.data, box.start)
    unknown = {0, 2 ** (64 if version == 1 else 32) - 1}
    if duration in unknown:
        duration = _fragment_duration(walk)
    if not timescale:
        raise BadVideo("broken", "a time scale of zero")
    if duration in unknown:
        raise BadVideo("length_unknown", "no duration in mvhd or mehd")
    return duration / timescale


def _fragment_duration(walk: _Walk) -> int:
    for box in walk.all(b"mehd", b"mvex"):
        layout = ">4xQ" if walk.data[box.start] == 1 else ">4xI"
        if box.end - box.start >= struct.calcsize(layout):
            return struct.unpack_from(layout, walk.data, box.start)[0]
    return 0
