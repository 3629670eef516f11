"""The name of an uploaded file as each kind of client sends it (service.routes.files.upload_name), against
the name that was sent: RFC 7578's plain ``filename`` (browsers, curl, requests, Go, OkHttp), and .NET's
HttpClient and Spring, which put a MIME encoded word in ``filename`` and the name in RFC 5987's
``filename*``."""

from __future__ import annotations

import base64
import io
import urllib.parse

from fastapi import UploadFile
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from service.routes.files import upload_name

# Names people give files: any text but the characters no file system takes and NUL (encodable as UTF-8).
names = st.text(st.characters(codec="utf-8", exclude_characters='\x00/\\"\r\n'), min_size=1, max_size=40)


def part(filename: str, disposition: str) -> UploadFile:
    """The UploadFile Starlette makes of a part: ``filename`` as the parser read it, and the headers."""
    headers = Headers(raw=[(b"content-disposition", disposition.encode())])
    return UploadFile(io.BytesIO(b"text"), filename=filename, headers=headers)


def dotnet(name: str) -> UploadFile:
    """As System.Net.Http.MultipartFormDataContent.Add(content, "files", name) sends it."""
    encoded = f"=?utf-8?B?{base64.b64encode(name.encode()).decode()}?="
    plain = name if name.isascii() else encoded
    star = urllib.parse.quote(name, safe="")
    return part(plain, f"form-data; name=files; filename=\"{plain}\"; filename*=utf-8''{star}")


@given(names)
def test_a_plain_filename_is_the_name(name: str) -> None:
    assert upload_name(part(name, f'form-data; name="files"; filename="{name}"')) == name


@given(names)
def test_dotnet_and_spring_names_are_read_from_filename_star(name: str) -> None:
    assert upload_name(dotnet(name)) == name


@given(names)
def test_an_encoded_word_alone_is_decoded(name: str) -> None:
    encoded = f"=?utf-8?B?{base64.b64encode(name.encode()).decode()}?="
    assert upload_name(part(encoded, f'form-data; name="files"; filename="{encoded}"')) == name


def test_a_damaged_filename_star_or_encoded_word_leaves_the_plain_name() -> None:
    assert (
        upload_name(part("a.txt", "form-data; name=files; filename=a.txt; filename*=nope''%FF.txt"))
        == "a.txt"
    )
    assert (
        upload_name(part("a.txt", "form-data; name=files; filename=a.txt; filename*=utf-8''%FF.txt"))
        == "a.txt"
    )
    broken = "=?utf-8?B?not base64!?="
    assert upload_name(part(broken, f'form-data; name=files; filename="{broken}"')) == broken
    # Latin-1 in filename*, as RFC 5987 allows
    latin = "form-data; name=files; filename=cafe.txt; filename*=iso-8859-1'fr'caf%E9.txt"
    assert upload_name(part("cafe.txt", latin)) == "café.txt"
