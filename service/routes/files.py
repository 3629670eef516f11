"""``POST /documents/files``: files in (PDF, Office, OpenDocument, EPUB, CSV, HTML, e-mail, Jupyter notebooks,
transcripts, Markdown, text), documents out.

The whole upload is checked before anything is written: every file is extracted (by a reader process,
service.file_reader, waited for in a worker thread, so neither the event loop nor the searches wait), and if
any cannot be, the answer names each bad file and nothing changes.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import re
import time
import urllib.parse
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from index import Document
from index.errors import InvalidInputError
from index.ingest.archive import MemberTooLargeError
from index.ingest.extract import ExtractionError, UnsupportedFormatError
from index.ingest.extract.text import text_encoding
from index.ingest.sources import describe_left_out, describe_unsupported, file_id
from index.validation import check_id, parse_json
from service.deps import FileReaderDep, IndexDep, SettingsDep
from service.errors import FilesRejectedError
from service.file_reader import FileReader
from service.routes.documents import store
from service.schemas import FilesErrorOut, InvalidOut, SkippedFileOut, TaskOut, UpsertResponse
from service.security import AUTH_RESPONSES, require_write
from service.settings import Settings

router = APIRouter(tags=["documents"])


@router.post(
    "/documents/files",
    dependencies=[Depends(require_write)],
    responses={
        202: {"model": TaskOut, "description": "wait=false: stored, and queued for indexing."},
        413: {"model": FilesErrorOut, "description": "A file, or the upload, is too large; nothing changed."},
        415: {"model": FilesErrorOut, "description": "A file's type is not supported; nothing changed."},
        422: {
            "model": FilesErrorOut | InvalidOut,
            "description": "A file cannot be read (encrypted, no text layer, damaged), or a form field is "
            "invalid; nothing changed.",
        },
        429: {"model": InvalidOut, "description": "Too many uploads at once, or the ingest queue is full."},
        **AUTH_RESPONSES,
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {"example": {"id_prefix": "reports/", "metadata": '{"team": "legal"}'}}
            }
        }
    },
)
def upload_files(
    files: Annotated[list[UploadFile], File(description="One or more files (field name `files`).")],
    index: IndexDep,
    settings: SettingsDep,
    reader: FileReaderDep,
    request: Request,
    response: Response,
    metadata: Annotated[
        str | None,
        Form(description="A JSON object added to every file's metadata.", examples=['{"team": "legal"}']),
    ] = None,
    id_prefix: Annotated[
        str, Form(description="Put before each file name to make its document id.", max_length=512)
    ] = "",
    encoding: Annotated[
        str | None,
        Form(
            description="The encoding of text files (text, Markdown, CSV, HTML, LaTeX, transcripts) that are "
            "not UTF-8 and do not declare their own: `windows-1252` for most Western European text, "
            "`shift_jis`, `cp1251`... Without it such a file is refused, not guessed.",
            examples=["windows-1252"],
            max_length=64,
        ),
    ] = None,
    strict: Annotated[
        bool,
        Form(
            description="true: a file in a ZIP archive that cannot be read refuses the upload, as a file "
            "sent alone does; false (the default): it is passed over and listed in `skipped`, as in a folder."
        ),
    ] = False,
    wait: Annotated[
        bool,
        Query(description="false: store the documents, answer 202 with a task, index in the background."),
    ] = True,
) -> UpsertResponse | TaskOut:
    """Index files: each becomes one document whose id is `id_prefix` plus its file name, its text extracted
    to Markdown (PDF, DOCX, PPTX, XLSX, DOC, XLS, ODT, ODS, ODP, RTF, LaTeX, CSV, EPUB, HTML, EML, Jupyter
    notebooks, transcripts, Markdown, text; the type is
    read from the bytes; a ZIP archive's files each become a document, `id_prefix` plus the path in it, with
    `archive` and `path` in its metadata, and the types it holds that are not read counted in `skipped`), its
    metadata the form's `metadata` plus `format`, `pages` (PDF, PPTX, ODP) and
    `sha256`; a mailbox's (`.mbox`) messages each become a document too. Hits from paged files carry the page
    they start on. All files are written in one transaction, or none: any file that cannot be read is named
    in the answer (413 too large, 415 unsupported, 422 unreadable) and nothing changes; a file in an archive
    that cannot be read is passed over and listed in `skipped`, as in a folder, unless `strict`."""
    started = time.perf_counter()
    # More files than SEMSEARCH_MAX_DOCUMENTS_PER_REQUEST never get here: the app's form limit refuses them
    # as the form is read (service.app, service.errors).
    shared = _metadata(metadata)
    codec = None if encoding is None or not encoding.strip() else text_encoding(encoding)
    documents, skipped = _documents(files, id_prefix, shared, settings, (codec, strict), reader)
    answer = store(index, documents, wait, request, response, started)
    answer.skipped = skipped
    return answer


# An RFC 5987 ``filename*`` parameter of a part's Content-Disposition (the parser reads only ``filename``).
_EXTENDED_NAME = re.compile(r"""(?:^|;)\s*filename\*\s*=\s*("[^"]*"|[^;\s]*)""", re.IGNORECASE)


def upload_name(upload: UploadFile) -> str:
    """The name the client gave an uploaded file. RFC 7578 has it as it is in ``filename``, in UTF-8, and
    browsers, curl, requests, Go and OkHttp send it so; but .NET's HttpClient and Spring send a name outside
    ASCII as a MIME encoded word in ``filename`` (``=?utf-8?B?Y2Fmw6kudHh0?=``) and the name itself in an
    RFC 5987 ``filename*``, which the multipart parser leaves out, as the RFC says: the document's id was the
    encoded word. So ``filename*`` is read when a part has it, and an encoded word is decoded."""
    name = upload.filename or ""
    extended = _EXTENDED_NAME.search(upload.headers.get("content-disposition", ""))
    if extended is not None:
        charset, _, quoted = email.utils.decode_rfc2231(extended.group(1).strip('"'))
        try:
            return urllib.parse.unquote(quoted, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):  # an unknown charset, or bytes not in it
            pass
    if "=?" in name and "?=" in name:
        try:
            return str(email.header.make_header(email.header.decode_header(name)))
        except (email.errors.HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
            pass
    return name


def _metadata(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    value = parse_json(raw, "the form field metadata")
    if not isinstance(value, dict):
        raise InvalidInputError("the form field metadata must be a JSON object")
    return value


def _documents(
    files: list[UploadFile],
    prefix: str,
    metadata: dict[str, Any],
    settings: Settings,
    reading: tuple[str | None, bool],
    reader: FileReader,
) -> tuple[list[Document], list[SkippedFileOut]]:
    """Every file extracted, a ZIP archive's files each a document, and what the archives held that was
    passed over; or :class:`FilesRejectedError` naming each file that cannot be read. ``reading`` is the
    upload's text encoding and ``strict``: a file in an archive that cannot be read is then a file that
    cannot be read, not one passed over as in a folder."""
    encoding, strict = reading
    documents: list[Document] = []
    problems: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    seen: set[str] = set()
    considered = len(files)  # the files sent, an archive counting as the files read from it

    def refuse(file: str | None, status: int, detail: str, in_archive: bool = False) -> None:
        entry = {"file": file, "status": status, "detail": detail}
        (skipped if in_archive and not strict else problems).append(entry)

    def add(document: Document, file: str, in_archive: bool) -> None:
        try:  # a path in an archive that makes no id, or the id of a file already in the upload
            check_id(f"{file}: its id {document.id[:80]!r}", document.id)
            if document.id in seen:
                raise InvalidInputError(
                    f"{file}: a second file of this name in the upload (id {document.id!r})"
                )
        except InvalidInputError as error:
            refuse(file, 422, str(error), in_archive)
            return
        seen.add(document.id)
        if len(document.text) > settings.max_text_chars:
            detail = (
                f"{file}: its text is {len(document.text)} characters, above the limit of "
                f"{settings.max_text_chars} (SEMSEARCH_MAX_TEXT_CHARS)"
            )
            refuse(file, 413, detail, in_archive)
            return
        documents.append(document)

    for upload in files:
        name = upload_name(upload).replace("\\", "/").rsplit("/", 1)[-1]
        if not name:
            refuse(upload.filename, 422, "a file without a name")
            continue
        size = upload.size if upload.size is not None else 0
        if size > settings.max_file_bytes:
            refuse(
                name,
                413,
                f"{name}: {size} bytes, above the limit of {settings.max_file_bytes} "
                "(SEMSEARCH_MAX_FILE_BYTES)",
            )
            continue
        doc_id = prefix + file_id(name)
        try:  # before reading the file: a name that makes no id is this file's problem, not the upload's
            check_id(f"{name}: its id {doc_id[:80]!r}", doc_id)
        except InvalidInputError as error:
            refuse(name, 422, str(error))
            continue
        try:
            contents = reader.contents(
                doc_id,
                name,
                upload.file.read(),
                metadata,
                encoding,
                id_prefix=prefix,
                max_file_bytes=settings.max_file_bytes,
            )
        except ExtractionError as error:
            refuse(name, _status(error), str(error))
            continue
        if contents.archive:
            considered += len(contents.paths) + len(contents.problems) - 1
            for document, path in zip(contents.documents, contents.paths, strict=True):
                add(document, f"{name}/{path}", True)
        else:
            add(contents.documents[0], name, False)
        for path, problem in contents.problems:
            refuse(f"{name}/{path}", _status(problem), str(problem), in_archive=True)
        if contents.skipped:
            skipped.append(
                {"file": name, "status": None, "detail": describe_unsupported(Counter(contents.skipped))}
            )
        if contents.left_out:
            skipped.append({"file": name, "status": None, "detail": describe_left_out(contents.left_out)})
    if not documents and not problems:  # every file of the archives sent was passed over: say why
        problems = [entry for entry in skipped if entry["status"] is not None]
    if problems:
        statuses = {int(item["status"]) for item in problems}
        status = 413 if 413 in statuses else 415 if statuses == {415} else 422
        raise FilesRejectedError(status, problems, considered)
    return documents, [SkippedFileOut(**entry) for entry in skipped]


def _status(error: ExtractionError) -> int:
    if isinstance(error, MemberTooLargeError):
        return 413
    return 415 if isinstance(error, UnsupportedFormatError) else 422
