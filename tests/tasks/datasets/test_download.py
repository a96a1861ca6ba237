"""Dataset downloads against a loopback HTTP server: checksum, resume, offline message, extraction."""
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from tasks.datasets.download import (CHECKSUMS_FILE, DownloadError, Resource, concatenate, download_all, extract,
                                     fetch)

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves `files` with Range support; records the Range headers it saw."""

    files: dict[str, bytes] = {}
    ranges: list[str | None] = []
    honour_range = True
    cut_after: int | None = None  # close the connection after this many body bytes

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = self.files.get(self.path.split("?")[0])
        type(self).ranges.append(self.headers.get("Range"))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if self.honour_range and self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if self.cut_after is not None:
            self.wfile.write(chunk[: self.cut_after])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    Handler.files, Handler.ranges, Handler.honour_range, Handler.cut_after = {}, [], True, None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sums(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def test_download_verifies_published_checksum(server, tmp_path):
    Handler.files["/data.bin"] = PAYLOAD
    md5, sha = sums(PAYLOAD)
    path = fetch(Resource(f"{server}/data.bin", md5=md5, sha256=sha), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD and not (tmp_path / "data.bin.part").exists()
    assert fetch(Resource(f"{server}/data.bin", md5=md5), tmp_path) == path  # verified once, not fetched again
    assert Handler.ranges == [None]


def test_checksum_mismatch_is_refused_and_moved_aside(server, tmp_path):
    Handler.files["/data.bin"] = PAYLOAD
    with pytest.raises(DownloadError, match=r"data.bin: sha256 mismatch \(expected 0{64}, got [0-9a-f]{64}\)"):
        fetch(Resource(f"{server}/data.bin", sha256="0" * 64), tmp_path, progress=False)
    assert not (tmp_path / "data.bin").exists() and (tmp_path / "data.bin.corrupt").exists()


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    Handler.files["/big.bin"] = PAYLOAD
    Handler.cut_after = 300_000
    resource = Resource(f"{server}/big.bin", sha256=sums(PAYLOAD)[1])
    with pytest.raises(DownloadError):
        fetch(resource, tmp_path, retries=0, progress=False)
    part = tmp_path / "big.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    kept = part.stat().st_size
    Handler.cut_after = None
    path = fetch(resource, tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert Handler.ranges[-1] == f"bytes={kept}-"


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    Handler.files["/big.bin"] = PAYLOAD
    Handler.honour_range = False
    (tmp_path / "big.bin.part").write_bytes(PAYLOAD[:1000])
    path = fetch(Resource(f"{server}/big.bin", md5=sums(PAYLOAD)[0]), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_unpublished_checksum_is_recorded(server, tmp_path):
    Handler.files["/list.csv"] = b"a,b\n1,2\n"
    fetch(Resource(f"{server}/list.csv", extract=False), tmp_path, progress=False)
    ledger = (tmp_path / CHECKSUMS_FILE).read_text()
    assert sums(b"a,b\n1,2\n")[1] in ledger and '"published": null' in ledger


def test_offline_gives_a_clear_message_and_keeps_the_partial_file(tmp_path):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "x.zip.part").write_bytes(b"12345")
    with pytest.raises(DownloadError) as info:
        fetch(Resource(f"http://127.0.0.1:{port}/x.zip"), tmp_path, progress=False)
    message = str(info.value)
    assert "cannot download http://127.0.0.1" in message and "offline" in message
    assert "The 5 bytes already fetched are kept" in message and "run the same command again to resume" in message


def test_http_errors_name_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"/missing.zip: HTTP 404"):
        fetch(Resource(f"{server}/missing.zip"), tmp_path, progress=False)


def test_download_all_extracts_zip_and_tar_once(server, tmp_path):
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("ESC-50-master/meta/esc50.csv", "filename\n")
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as t:
        info = tarfile.TarInfo("LibriSpeech/README.TXT")
        info.size = 2
        t.addfile(info, io.BytesIO(b"hi"))
    Handler.files["/a.zip"], Handler.files["/b.tar.gz"] = zbuf.getvalue(), tbuf.getvalue()
    resources = [Resource(f"{server}/a.zip", md5=sums(zbuf.getvalue())[0]),
                 Resource(f"{server}/b.tar.gz", sha256=sums(tbuf.getvalue())[1])]
    download_all(resources, tmp_path)
    assert (tmp_path / "ESC-50-master/meta/esc50.csv").is_file() and (tmp_path / "LibriSpeech/README.TXT").is_file()
    (tmp_path / "ESC-50-master/meta/esc50.csv").unlink()
    download_all(resources, tmp_path)  # marker: not extracted twice
    assert not (tmp_path / "ESC-50-master/meta/esc50.csv").exists()


def test_zip_with_unsafe_paths_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../outside.txt", "x")
    with pytest.raises(DownloadError, match="unsafe member path"):
        extract(archive, tmp_path / "out")


def test_split_archive_parts_are_joined(tmp_path):
    parts = []
    for i, chunk in enumerate((b"abc", b"def", b"g")):
        parts.append(tmp_path / f"mp3.zip.00{i + 1}")
        parts[-1].write_bytes(chunk)
    assert concatenate(parts, tmp_path / "mp3.zip").read_bytes() == b"abcdefg"


def test_dataset_download_functions_use_the_resources(server, tmp_path, monkeypatch):
    """A dataset's download_<corpus> fetches its Resources (URLs rewritten to the loopback server)."""
    import tasks.datasets.fsdd as fsdd
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as t:
        info = tarfile.TarInfo("free-spoken-digit-dataset-1.0.9/recordings/0_jackson_0.wav")
        info.size = 4
        t.addfile(info, io.BytesIO(b"RIFF"))
    Handler.files["/fsdd.tar.gz"] = tbuf.getvalue()
    monkeypatch.setattr(fsdd, "RESOURCES", (Resource(f"{server}/fsdd.tar.gz", "fsdd.tar.gz",
                                                     sha256=sums(tbuf.getvalue())[1]),))
    root = fsdd.download_fsdd(tmp_path)
    assert root == Path(tmp_path) / "free-spoken-digit-dataset-1.0.9"
    assert (root / "recordings" / "0_jackson_0.wav").is_file()


def test_every_dataset_declares_official_urls_and_checksums():
    from tasks.datasets import DATASETS, get_dataset
    for name in DATASETS:
        module = get_dataset(name).module
        for resource in module.RESOURCES:
            assert resource.url.startswith(("http://", "https://")), resource
            assert resource.md5 is None or len(resource.md5) == 32
            assert resource.sha256 is None or len(resource.sha256) == 64
        assert module.TASKS and module.DESCRIPTION and module.__doc__
