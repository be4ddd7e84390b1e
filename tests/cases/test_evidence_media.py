"""Evidence as people have it: HEIC photos and short videos, judged by their bytes like the rest;
thumbnails made once at upload; a caption per file; several files in one go."""

from __future__ import annotations

import hashlib
import io
import struct

import pillow_heif
import pytest
import sqlalchemy as sa
from PIL import Image

from odr.cases.models import Evidence
from odr.errors import ValidationError
from odr.evidence import media
from odr.evidence.checks import (
    MAX_BATCH_FILES,
    MAX_FILE_SIZE,
    MAX_VIDEO_SIZE,
    check_upload,
    clean_caption,
)
from odr.extensions import db
from tests.cases.test_evidence import (
    PNG,
    evidence_rows,
    must_upload,
    pdf,
    refused,
    upload,
)
from tests.conftest import WebClient
from tests.factories import Dispute, make_user
from tests.storage_helpers import overwrite_stored, stored_bytes

MB = 1024 * 1024

# ---- photos, made for real ----------------------------------------------------------------------


def _exif(orientation: int | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    return exif.tobytes()


def picture(width: int = 64, height: int = 48, colour=(200, 30, 30)) -> Image.Image:
    """A picture with a dark left half, so that a turn shows."""
    image = Image.new("RGB", (width, height), colour)
    image.paste((10, 10, 10), (0, 0, width // 2, height))
    return image


def heic(width: int = 64, height: int = 48, *, orientation=None, gps=False, colour=(200, 30, 30)):
    """A real HEIC (HEVC in HEIF), as an iPhone writes by default, made with pillow-heif."""
    out = io.BytesIO()
    heif = pillow_heif.from_pillow(picture(width, height, colour))
    heif.save(out, quality=60, exif=_exif(orientation, gps))
    return out.getvalue()


def claims_size(data: bytes, width: int, height: int) -> bytes:
    """The HEIC with its image spatial extents (`ispe`) claiming another size."""
    at = data.index(b"ispe") + 8  # past the type and the version and flags
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


def jpeg(width: int = 64, height: int = 48, *, orientation=None, gps=False) -> bytes:
    out = io.BytesIO()
    picture(width, height).save(out, "JPEG", exif=_exif(orientation, gps))
    return out.getvalue()


def real_png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    picture(width, height).save(out, "PNG")
    return out.getvalue()


# ---- videos, box by box -------------------------------------------------------------------------

MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big"), *parts)


def mp4(
    seconds: float = 12,
    *,
    timescale: int = 600,
    major: bytes = b"isom",
    brands: tuple[bytes, ...] = (b"isom", b"iso2", b"avc1", b"mp41"),
    handler: bytes = b"vide",
    self_contained: bool = True,
    version: int = 0,
    chunk_offset: int | None = None,
    media_data: bytes = bytes(range(256)) * 4,
    extra_moov: bytes = b"",
) -> bytes:
    """A minimal MP4: ftyp, then moov (mvhd, one track: tkhd, mdia with mdhd, hdlr and minf with
    its data reference and sample table), then mdat, whose data the chunk offset points at."""
    ftyp = box(b"ftyp", major, (512).to_bytes(4, "big"), *brands)
    duration = round(seconds * timescale)

    def moov(offset: int) -> bytes:
        times = (
            struct.pack(">QQIQ", 0, 0, timescale, duration)
            if version == 1
            else struct.pack(">IIII", 0, 0, timescale, duration)
        )
        mvhd = full(
            b"mvhd", version, 0, times, struct.pack(">IH10x", 0x10000, 0x100), MATRIX, bytes(24),
            struct.pack(">I", 2),
        )  # fmt: skip
        tkhd = full(
            b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, duration), bytes(8),
            struct.pack(">hhhH", 0, 0, 0, 0), MATRIX, struct.pack(">II", 320 << 16, 240 << 16),
        )  # fmt: skip
        mdhd = full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0))
        hdlr = full(b"hdlr", 0, 0, bytes(4), handler, bytes(12), b"VideoHandler\x00")
        reference = (
            full(b"url ", 0, 1)
            if self_contained
            else full(b"url ", 0, 0, b"https://evil.example/movie.mp4\x00")
        )
        dinf = box(b"dinf", full(b"dref", 0, 0, struct.pack(">I", 1), reference))
        stbl = box(
            b"stbl",
            full(b"stsd", 0, 0, struct.pack(">I", 0)),
            full(b"stts", 0, 0, struct.pack(">I", 0)),
            full(b"stsc", 0, 0, struct.pack(">I", 0)),
            full(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
            full(b"stco", 0, 0, struct.pack(">II", 1, offset)),
        )
        minf = box(b"minf", full(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
        trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
        return box(b"moov", mvhd, trak, extra_moov)

    offset = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(offset if chunk_offset is None else chunk_offset) + box(b"mdat", media_data)


def quicktime(seconds: float = 8) -> bytes:
    return mp4(seconds, major=b"qt  ", brands=(b"qt  ",))


def set_size(data: bytes, kind: bytes, size: int) -> bytes:
    """The file with the first box of `kind` claiming `size` bytes."""
    at = data.index(kind) - 4
    return data[:at] + struct.pack(">I", size) + data[at + 4 :]


@pytest.fixture
def dispute(app, api) -> Dispute:
    return Dispute(app, api)


def thumbnail_path(dispute_id: str, evidence_id: str) -> str:
    return f"/disputes/{dispute_id}/evidence/{evidence_id}/thumbnail"


def thumbnail_of(app, dispute: Dispute, body: dict, party: str = "claimant"):
    """The thumbnail as the party's browser gets it on the dispute page."""
    web = WebClient(app)
    web.login(dispute.users[party].email)
    response = web.get(thumbnail_path(dispute.id, body["id"]))
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    return Image.open(io.BytesIO(response.data)), response


# ---- the type, by content -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("IMG_0042.HEIC", heic(), "image/heic"),
        ("clip.mp4", mp4(), "video/mp4"),
        ("clip-v1.mp4", mp4(version=1), "video/mp4"),
        (
            "export.m4v",
            mp4(major=b"M4V ", brands=(b"M4V ", b"M4A ", b"mp42", b"isom")),
            "video/mp4",
        ),
        ("phone.mp4", mp4(major=b"mp42", brands=(b"mp42", b"isom")), "video/mp4"),
        ("IMG_0043.MOV", quicktime(), "video/quicktime"),
    ],
)
def test_heic_photos_and_short_videos_are_accepted_by_their_content(
    app, dispute, name, data, media_type
):
    body = must_upload(dispute.clients["claimant"], dispute.id, name, data)
    assert body["media_type"] == media_type
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored_bytes(app, body["sha256"]) == data
    download = dispute.clients["respondent"].get(body["url"])
    assert download.data == data and download.mimetype == media_type
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}"'


def test_a_png_named_heic_is_recorded_as_the_png_it_is(app, dispute):
    body = must_upload(dispute.clients["claimant"], dispute.id, "photo.heic", real_png())
    assert body["media_type"] == "image/png"
    download = dispute.clients["respondent"].get(body["url"])
    assert 'filename="photo.heic.png"' in download.headers["Content-Disposition"]


def test_a_heic_named_jpg_downloads_as_heic(app, dispute):
    body = must_upload(dispute.clients["claimant"], dispute.id, "photo.jpg", heic())
    assert body["media_type"] == "image/heic"
    download = dispute.clients["respondent"].get(body["url"])
    assert 'filename="photo.jpg.heic"' in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("song.m4a", mp4(major=b"M4A ", brands=(b"M4A ", b"mp42", b"isom"))),
        ("photo.avif", box(b"ftyp", b"avif", bytes(4), b"avif", b"mif1", b"miaf") + bytes(64)),
        ("raw.cr3", box(b"ftyp", b"crx ", bytes(4), b"crx ", b"isom") + bytes(64)),
        ("other.mp4", box(b"ftyp", b"zzzz", bytes(4), b"zzzz") + bytes(64)),
    ],
)
def test_other_iso_media_files_are_not_accepted(app, dispute, name, data):
    assert "not accepted" in refused(upload(dispute.clients["claimant"], dispute.id, name, data))
    assert evidence_rows(app) == []


def test_the_brands_decide_and_the_major_brand_first():
    assert media.container_type(heic()) == "image/heic"
    assert media.container_type(mp4()) == "video/mp4"
    assert media.container_type(quicktime()) == "video/quicktime"
    # a HEIF image sequence that also says isom is still a photo by its major brand
    assert media.container_type(box(b"ftyp", b"msf1", bytes(4), b"isom")) == "image/heic"
    assert media.container_type(box(b"ftyp", b"mp42", bytes(4), b"heic")) == "video/mp4"
    assert media.container_type(box(b"ftyp", b"isom", bytes(3))) is None  # too short a box
    assert media.container_type(b"\x00\x00\x10\x00ftypisom" + bytes(16)) is None  # past the end


# ---- HEIC: it must decode -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(heic()[:300], id="truncated"),
        pytest.param(
            box(b"ftyp", b"heic", bytes(4), b"mif1", b"heic") + b"not a picture" * 40, id="garbage"
        ),
        pytest.param(heic()[:40] + bytes(len(heic()) - 40), id="boxes-zeroed"),
        pytest.param(claims_size(heic(), 40000, 40000), id="claims-40000-pixels-a-side"),
    ],
)
def test_a_heic_that_does_not_decode_is_refused(app, dispute, data):
    message = refused(upload(dispute.clients["claimant"], dispute.id, "IMG_0001.HEIC", data))
    assert "This photo could not be read" in message
    assert evidence_rows(app) == []


def test_a_heic_with_too_many_pixels_is_refused_before_it_is_decoded():
    verdict = media.inspect_media(heic(1200, 900), "image/heic", max_pixels=1_000_000)
    assert verdict.verdict == "too_many_pixels" and verdict.thumbnail is None
    assert media.inspect_media(heic(1000, 900), "image/heic", max_pixels=1_000_000).thumbnail


def test_check_upload_refuses_a_heic_naming_the_field():
    with pytest.raises(ValidationError) as refusal:
        check_upload("x.heic", heic()[:200])
    assert list(refusal.value.errors) == ["file"]


# ---- videos: the boxes must fit together --------------------------------------------------------


def _nested(depth: int) -> bytes:
    inner = box(b"free")
    for _ in range(depth):
        inner = box(b"trak", inner)
    return inner


def _broken_child() -> bytes:
    """An mvhd that claims more bytes than its moov holds."""
    data = mp4()
    return set_size(data, b"mvhd", 5000)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        pytest.param(mp4()[:-100], "broken", id="truncated-mdat"),
        pytest.param(mp4()[:200], "broken", id="truncated-moov"),
        pytest.param(set_size(mp4(), b"mdat", 10 * MB), "broken", id="box-past-the-end"),
        pytest.param(_broken_child(), "broken", id="child-past-its-parent"),
        pytest.param(set_size(mp4(), b"mvhd", 4), "broken", id="box-smaller-than-its-header"),
        pytest.param(mp4() + b"\x00\x00\x00", "broken", id="trailing-bytes"),
        pytest.param(
            box(b"ftyp", b"isom", bytes(4), b"isom") + box(b"mdat", bytes(64)),
            "broken",
            id="no-moov",
        ),  # fmt: skip
        pytest.param(mp4()[: mp4().index(b"mdat") - 4], "broken", id="no-mdat"),
        pytest.param(mp4(chunk_offset=10 * MB), "broken", id="chunk-offset-past-the-end"),
        pytest.param(mp4(self_contained=False), "external", id="external-data-reference"),
        pytest.param(mp4(handler=b"soun"), "no_video", id="sound-only"),
        pytest.param(mp4(0), "length_unknown", id="no-duration"),
        pytest.param(mp4(extra_moov=_nested(20)), "broken", id="nested-too-deep"),
    ],
)
def test_malformed_videos_are_refused_for_what_is_wrong(data, why):
    assert media.inspect_media(data, "video/mp4").verdict == why


def test_a_box_that_runs_to_the_end_of_the_file_and_a_64_bit_size_are_read():
    data = mp4(seconds=30)
    at = data.index(b"mdat") - 4
    to_the_end = data[:at] + struct.pack(">I", 0) + data[at + 4 :]
    assert media.video_seconds(to_the_end) == 30
    payload = data[at + 8 :]
    large = data[:at] + struct.pack(">I4sQ", 1, b"mdat", 16 + len(payload)) + payload
    large = large.replace(  # the chunk offset moves on by the 8 bytes of the longer header
        struct.pack(">II", 1, at + 8), struct.pack(">II", 1, at + 16)
    )
    assert media.video_seconds(large) == 30


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (mp4(seconds=1)[:-100], "This video could not be read"),
        (mp4(self_contained=False), "refers to other files or addresses"),
        (mp4(handler=b"soun"), "holds no video picture"),
        (mp4(0), "The length of this video could not be read"),
    ],
)
def test_a_refused_video_says_why(app, dispute, data, message):
    assert message in refused(upload(dispute.clients["claimant"], dispute.id, "clip.mp4", data))
    assert evidence_rows(app) == []


def test_a_video_may_last_three_minutes_and_no_more(app, dispute):
    claimant = dispute.clients["claimant"]
    message = refused(upload(claimant, dispute.id, "long.mp4", mp4(seconds=180.5)))
    assert message == (
        "A video may be at most 3 minutes long; this one is 3:01. Trim it and upload it again."
    )
    assert must_upload(claimant, dispute.id, "three.mp4", mp4(seconds=180))


def test_a_video_may_weigh_25_mb_a_photo_10(app, dispute):
    claimant = dispute.clients["claimant"]
    twenty = mp4(media_data=b"v" * (20 * MB))
    assert len(twenty) > MAX_FILE_SIZE
    assert must_upload(claimant, dispute.id, "twenty.mp4", twenty)["media_type"] == "video/mp4"
    too_big = mp4(media_data=b"w" * MAX_VIDEO_SIZE)
    assert (
        refused(upload(claimant, dispute.id, "big.mp4", too_big), 413)
        == "A video may be at most 25 MB."
    )
    # a photo-sized limit still holds for everything else
    assert "10 MB" in refused(upload(claimant, dispute.id, "big.txt", b"t" * (11 * MB)), 413)
    assert len(evidence_rows(app)) == 1


def test_a_request_larger_than_any_video_is_refused_naming_the_video_limit(app, dispute):
    response = upload(dispute.clients["claimant"], dispute.id, "huge.mp4", b"x" * (26 * MB))
    assert refused(response, 413) == "A video may be at most 25 MB."


# ---- thumbnails ---------------------------------------------------------------------------------


def test_a_heic_gets_a_webp_thumbnail_a_browser_can_show(app, dispute):
    body = must_upload(dispute.clients["claimant"], dispute.id, "IMG.HEIC", heic(1600, 1200))
    with app.app_context():
        row = db.session.scalars(sa.select(Evidence)).one()
    image, response = thumbnail_of(app, dispute, body, "respondent")
    assert image.format == "WEBP" and image.size == (320, 240)
    assert hashlib.sha256(response.data).hexdigest() == row.thumbnail_sha256
    assert stored_bytes(app, row.thumbnail_sha256) == response.data  # beside the file
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("sideways.heic", heic(640, 480, orientation=6)),
        ("sideways.jpg", jpeg(640, 480, orientation=6)),
    ],
)
def test_a_photo_taken_sideways_has_an_upright_thumbnail(app, dispute, name, data):
    body = must_upload(dispute.clients["claimant"], dispute.id, name, data)
    image, _ = thumbnail_of(app, dispute, body)
    assert image.size == (240, 320)
    top, bottom = image.convert("RGB").getpixel((120, 5)), image.convert("RGB").getpixel((120, 314))
    # the dark left half of the picture, turned a quarter clockwise, is now on top
    assert sum(top) < 100 < sum(bottom)


@pytest.mark.parametrize(
    ("name", "data"),
    [("gps.heic", heic(gps=True)), ("gps.jpg", jpeg(gps=True))],
)
def test_a_thumbnail_carries_no_metadata(app, dispute, name, data):
    assert b"Apple" in data  # the photo itself says where and with what it was taken
    body = must_upload(dispute.clients["claimant"], dispute.id, name, data)
    image, response = thumbnail_of(app, dispute, body)
    assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    assert b"Apple" not in response.data and b"Exif" not in response.data


def test_png_jpeg_and_webp_get_thumbnails_and_a_transparent_png_stays_transparent(app, dispute):
    claimant = dispute.clients["claimant"]
    clear = io.BytesIO()
    Image.new("RGBA", (500, 100), (0, 0, 0, 0)).save(clear, "PNG")
    webp = io.BytesIO()
    picture(100, 500).save(webp, "WEBP")
    sizes = {}
    for name, data in [("a.png", clear.getvalue()), ("b.jpg", jpeg(800, 600)),
                       ("c.webp", webp.getvalue())]:  # fmt: skip
        image, _ = thumbnail_of(app, dispute, must_upload(claimant, dispute.id, name, data))
        sizes[name] = image.size
        if name == "a.png":
            assert image.mode == "RGBA" and image.getpixel((10, 10))[3] == 0
    assert sizes == {"a.png": (320, 64), "b.jpg": (320, 240), "c.webp": (64, 320)}


@pytest.mark.parametrize(
    ("name", "data"),
    [("a.pdf", pdf()), ("a.txt", b"text\n"), ("a.mp4", mp4()), ("broken.png", PNG)],
)
def test_files_that_are_not_pictures_or_do_not_decode_have_no_thumbnail(
    app, dispute, web, name, data
):
    body = must_upload(dispute.clients["claimant"], dispute.id, name, data)
    web.login(dispute.users["claimant"].email)
    assert web.get(thumbnail_path(dispute.id, body["id"])).status_code == 404
    page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert f'/evidence/{body["id"]}"' in page and "evidence-thumb" not in page


def test_who_may_not_read_the_file_may_not_see_its_thumbnail(app, api, dispute, web):
    body = must_upload(dispute.clients["claimant"], dispute.id, "IMG.HEIC", heic())
    page_path = thumbnail_path(dispute.id, body["id"])
    web.login(make_user(app, "consumer").email)
    assert web.get(page_path).status_code == 404
    assert WebClient(app).get(page_path).status_code == 302  # to the sign-in page
    thumbnail_of(app, dispute, body, "respondent")
    other = Dispute(app, api, respondent_email="other@merchant.example")
    web.login(other.users["claimant"].email)  # a party, but to another dispute
    assert web.get(thumbnail_path(other.id, body["id"])).status_code == 404


def test_a_tampered_thumbnail_is_not_served(app, dispute, web):
    body = must_upload(dispute.clients["claimant"], dispute.id, "IMG.HEIC", heic())
    with app.app_context():
        thumbnail = db.session.scalars(sa.select(Evidence.thumbnail_sha256)).one()
    overwrite_stored(app, thumbnail, b"RIFF\x00\x00\x00\x00WEBP<svg onload=alert(1)>")
    web.login(dispute.users["claimant"].email)
    assert web.get(thumbnail_path(dispute.id, body["id"])).status_code == 404


# ---- captions -----------------------------------------------------------------------------------


def test_the_api_takes_an_optional_caption_and_lists_it(app, dispute):
    claimant = dispute.clients["claimant"]
    response = claimant.client.post(
        f"/api/v1/disputes/{dispute.id}/evidence",
        data={"file": (io.BytesIO(heic()), "IMG.HEIC"), "caption": "  The box,\n  as it came "},
        headers=claimant._headers(None),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["caption"] == "The box, as it came"
    assert must_upload(claimant, dispute.id, "a.txt", b"no caption\n")["caption"] is None
    listed = claimant.get(f"/api/v1/disputes/{dispute.id}/evidence").get_json()["items"]
    assert [item["caption"] for item in listed] == ["The box, as it came", None]


def test_a_caption_over_200_characters_is_refused_naming_it(app, dispute):
    claimant = dispute.clients["claimant"]
    response = claimant.client.post(
        f"/api/v1/disputes/{dispute.id}/evidence",
        data={"file": (io.BytesIO(b"x\n"), "a.txt"), "caption": "长" * 201},
        headers=claimant._headers(None),
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"caption": "A caption may be at most 200 characters."}
    assert evidence_rows(app) == []
    assert clean_caption("长" * 200) == "长" * 200


def test_captions_lose_control_characters_and_stay_out_of_the_event_log(app, dispute):
    assert clean_caption("rec\x00eipt\u202e for\tthe\u2028 order") == "receipt for the order"
    assert clean_caption(" \n ") is None
    body = must_upload(dispute.clients["claimant"], dispute.id, "a.txt", b"facts\n")
    claimant = dispute.clients["claimant"]
    claimant.client.post(
        f"/api/v1/disputes/{dispute.id}/evidence",
        data={"file": (io.BytesIO(b"more\n"), "b.txt"), "caption": "Li Na's home address"},
        headers=claimant._headers(None),
    )
    events = [e for e in dispute.events() if e["kind"] == "add_evidence"]
    assert len(events) == 2 and events[0]["data"]["evidence"] == body["id"]
    assert "home address" not in str(events)


def test_the_case_file_lists_the_captions(app, dispute):
    from odr.cases.models import Case
    from odr.documents.content import case_file_content

    claimant = dispute.clients["claimant"]
    claimant.client.post(
        f"/api/v1/disputes/{dispute.id}/evidence",
        data={"file": (io.BytesIO(heic()), "IMG.HEIC"), "caption": "Cracked screen"},
        headers=claimant._headers(None),
    )
    with app.app_context():
        case = db.session.scalars(sa.select(Case).where(Case.public_id == dispute.id)).one()
        content = case_file_content(dispute.users["claimant"], case)
    assert [e["caption"] for e in content["evidence"]] == ["Cracked screen"]


# ---- several files in one go, on the page -------------------------------------------------------


def _post_files(web, dispute_id: str, files: list[tuple[str, bytes]], **form):
    return web.post(
        f"/disputes/{dispute_id}/evidence",
        {"file": [(io.BytesIO(data), name) for name, data in files], **form},
        content_type="multipart/form-data",
    )


def test_two_files_at_once_each_with_its_caption(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    response = _post_files(
        web,
        dispute.id,
        [("IMG_0042.HEIC", heic()), ("receipt.pdf", pdf())],
        file_caption=["The cracked screen", "The shop's receipt"],
        caption="ignored when each file has its own",
    )
    assert response.status_code == 303
    rows = evidence_rows(app)
    assert [(r.filename, r.media_type, r.caption) for r in rows] == [
        ("IMG_0042.HEIC", "image/heic", "The cracked screen"),
        ("receipt.pdf", "application/pdf", "The shop's receipt"),
    ]
    assert rows[0].thumbnail_sha256 and rows[1].thumbnail_sha256 is None
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 files were added to the evidence: IMG_0042.HEIC and receipt.pdf." in page
    thumbnail = f"/disputes/{dispute.id}/evidence/{rows[0].public_id}/thumbnail"
    assert f'src="{thumbnail}" alt="The cracked screen"' in page
    assert "The shop&#39;s receipt" in page


def test_without_script_one_caption_goes_with_every_file(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    response = _post_files(
        web, dispute.id, [("a.jpg", jpeg()), ("b.jpg", jpeg(60, 40))], caption="Parcel, 3 May"
    )
    assert response.status_code == 303
    assert [r.caption for r in evidence_rows(app)] == ["Parcel, 3 May", "Parcel, 3 May"]


def test_the_good_files_are_added_and_each_refused_one_is_named_next_to_the_control(
    app, dispute, web
):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    response = _post_files(
        web,
        dispute.id,
        [
            ("IMG_0042.HEIC", heic()),
            ("broken.heic", heic()[:300]),
            ("clip.mp4", mp4(self_contained=False)),
            ("again.heic", heic()),  # the same bytes as the first
            ("notes.txt", b"kept\n"),
        ],
        file_caption=["", "", "", "", "x" * 201],
    )
    assert response.status_code == 422
    assert [r.filename for r in evidence_rows(app)] == ["IMG_0042.HEIC"]
    page = response.get_data(as_text=True)
    error = page[page.index('id="evidence-file-error"') : page.index('id="evidence-file"')]
    assert "4 files were not added." in error
    for name, reason in [
        ("broken.heic", "This photo could not be read"),
        ("clip.mp4", "This video refers to other files or addresses"),
        ("again.heic", "This file is already in the evidence of this dispute."),
        ("notes.txt", "A caption may be at most 200 characters."),
    ]:
        assert f"<strong>{name}</strong>: {reason}" in error
    assert 'aria-invalid="true" aria-describedby="evidence-file-error evidence-file-hint"' in page
    assert "IMG_0042.HEIC was added to the evidence." in page
    assert f'href="#evidence-file">{"Add files"}</a>' in page  # the summary at the top


def test_more_than_20_files_at_once_are_refused_whole(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    files = [(f"{n}.txt", f"file {n}\n".encode()) for n in range(MAX_BATCH_FILES + 1)]
    response = _post_files(web, dispute.id, files)
    assert response.status_code == 422
    assert "Choose at most 20 files at a time." in response.get_data(as_text=True)
    assert evidence_rows(app) == []
    assert _post_files(web, dispute.id, files[:MAX_BATCH_FILES]).status_code == 303
    assert len(evidence_rows(app)) == MAX_BATCH_FILES


def test_no_file_chosen_says_so(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    response = web.post(
        f"/disputes/{dispute.id}/evidence",
        {"file": (io.BytesIO(b""), ""), "caption": "nothing"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choose a file to upload." in response.get_data(as_text=True)


def test_the_page_offers_heic_and_videos_and_several_files(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    control = page[page.index('<input type="file" id="evidence-file"') :]
    control = control[: control.index(">")]
    assert " multiple " in control
    for accepted in (".heic", "image/heic", ".mp4", "video/mp4", ".mov", "video/quicktime"):
        assert accepted in control
    assert f'data-max-files="{MAX_BATCH_FILES}"' in page
    assert "/static/evidence.js" in page
