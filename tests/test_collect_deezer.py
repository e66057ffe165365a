"""The Deezer collector and the resumable collection, offline on recorded responses."""

from __future__ import annotations

import errno
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from recorded import FakeClock, FakeDeezer, Recordings, ReplaySession, Reply, mp3_clips

from core import cli
from core.catalog.store import Catalog
from core.collect import deezer as deezer_module
from core.collect import sources
from core.collect.collection import YearRange, collect
from core.collect.deezer import DeezerClient, artist_reading, track_record
from core.collect.http import HttpClient, TokenBucket
from core.errors import Cancelled, CollectError, NetworkUnavailable, RateLimited, UsageError
from tests.helpers import shared_file

YEARS = YearRange(2019, 2021)


@pytest.fixture(scope="module")
def clips() -> list[bytes]:
    return mp3_clips(5)


@pytest.fixture
def world(clips) -> FakeDeezer:
    return FakeDeezer(clips)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def served(world, monkeypatch) -> ReplaySession:
    """Every session the collectors open answers from ``world``."""
    session = ReplaySession(world)
    monkeypatch.setattr(sources, "new_session", lambda: session)
    monkeypatch.setattr(sources, "Clock", FakeClock)  # for the CLI, which builds its own
    return session


def run_collection(settings, target: int, clock, **options):
    source, downloader = sources.build_source(settings, "deezer", YEARS, clock=clock)
    return collect(settings, source, downloader, target, **options)


def catalog_rows(settings) -> list[tuple]:
    with Catalog.open(settings) as catalog:
        tracks = catalog.tracks()
    columns = ["source_id", "name", "artists", "album", "album_type", "release_date", "popularity", "audio_sha256"]
    columns.append("primary_artist_fans")
    return [tuple(row) for row in tracks[columns].itertuples(index=False)]


def stderr_messages(capsys) -> list[str]:
    """What the CLI wrote to stderr, less its progress bar."""
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("collecting ")]


# --- the HTTP layer -----------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_paces_requests(clock):
    bucket = TokenBucket(50, 10.0, clock)
    for _ in range(50):
        bucket.take()
    assert clock.sleeps == []
    bucket.take()
    assert clock.sleeps == [pytest.approx(0.1)]


def test_5xx_is_retried_with_growing_jittered_waits(clock):
    answers = iter([Reply(503, {}), Reply(502, {}), Reply(200, {"data": []})])
    http = HttpClient("Deezer", ReplaySession(lambda request: next(answers)), clock=clock)
    assert http.get("https://api.deezer.com/chart").json() == {"data": []}
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(2.0)]  # 1 s, 2 s, times the jitter factor 1.0


def test_dropped_connections_end_in_one_clear_error(clock):
    def refuse(request):
        raise requests.ConnectionError("Name or service not known")

    http = HttpClient("Deezer", ReplaySession(refuse), clock=clock)
    with pytest.raises(NetworkUnavailable, match=r"Cannot reach Deezer.*run the same command again"):
        http.get("https://api.deezer.com/chart")
    assert len(clock.sleeps) == 4  # five attempts


def test_short_retry_after_is_waited_and_long_one_reported(clock):
    answers = iter(
        [Reply(429, {}, {"Retry-After": "3"}), Reply(200, {"ok": 1}), Reply(429, {}, {"Retry-After": "7200"})]
    )
    http = HttpClient("Spotify", ReplaySession(lambda request: next(answers)), clock=clock)
    assert http.get("https://api.spotify.com/v1/search").json() == {"ok": 1}
    assert clock.sleeps == [3.0]
    with pytest.raises(RateLimited, match=r"wait 2 h 00 min .*until .* UTC.*Run the same command again"):
        http.get("https://api.spotify.com/v1/search")
    assert clock.sleeps == [3.0]  # the long wait was reported, not slept


# --- the Deezer client on real recorded responses -----------------------------------


def recorded_client(*names: str, clock=None) -> DeezerClient:
    recordings = Recordings.load(*(shared_file(f"data/api-samples/deezer/{name}") for name in names))
    return DeezerClient(HttpClient("Deezer", ReplaySession(recordings), clock=clock or FakeClock()))


def test_real_track_response_becomes_a_catalog_row():
    track = recorded_client("track.json").track(3135556)
    record = track_record(track)
    assert (record.source, record.source_id, record.name) == ("deezer", "3135556", "Harder Better Faster Stronger")
    assert record.isrc == "GBDUW0000059" and record.release_date == "2001-03-07"
    assert record.popularity_scale == "deezer_rank" and 0 < record.popularity <= 1_000_000
    assert record.duration_ms == track["duration"] * 1000 and record.preview_url.endswith(".mp3")
    assert [a.name for a in record.artists] == ["Daft Punk"] and record.album == "Discovery"


def test_real_artist_response_gives_fans_and_albums_with_the_time_read():
    reading = artist_reading(27, recorded_client("artist.json").artist(27))
    assert (reading["fans"], reading["albums"]) == (3_677_952, 32)
    assert datetime.fromisoformat(reading["read_at"]).utcoffset() == timedelta(0)
    record = track_record(recorded_client("track.json").track(3135556), reading=reading)
    assert [(a.name, a.fans, a.albums) for a in record.artists] == [("Daft Punk", 3_677_952, 32)]


def test_real_no_data_error_means_not_found():
    assert recorded_client("not_found_track.json").track(-1) is None


def test_real_list_responses_parse_into_items():
    client = recorded_client("artist_top.json", "artist_related.json", "genre_artists.json")
    top = client.items("artist/27/top")
    assert top and all("rank" in t and "preview" in t for t in top)
    assert next(a["name"] for a in client.items("artist/27/related")) == "Justice"
    assert len(client.items("genre/106/artists")) == 48


def test_quota_error_sent_with_http_200_backs_off_then_succeeds(world, clock):
    world.quota_errors["artist/1000/related"] = 2
    client = sources.deezer_client(ReplaySession(world), clock)
    assert [a["id"] for a in client.items("artist/1000/related")] == [1001, 1002]
    quota_waits = [s for s in clock.sleeps if s >= 5]
    assert quota_waits == [pytest.approx(7.5), pytest.approx(15.0)]  # 5 s x attempt x jitter 1.5


def test_endless_quota_errors_stop_with_a_message(world, clock):
    world.quota_errors["artist/1000/related"] = 99
    client = sources.deezer_client(ReplaySession(world), clock)
    with pytest.raises(RateLimited, match="quota limit exceeded"):
        client.items("artist/1000/related")


def test_other_deezer_errors_are_reported():
    answers = Reply(200, {"error": {"type": "ParameterException", "message": "Wrong parameter", "code": 500}})
    client = DeezerClient(HttpClient("Deezer", ReplaySession(lambda request: answers), clock=FakeClock()))
    with pytest.raises(CollectError, match="Wrong parameter"):
        client.get("search")


# --- collecting ---------------------------------------------------------------------


def test_collection_fills_the_catalog_with_recent_tracks_and_verified_previews(home, served, clock):
    progress = []
    report = run_collection(home, 20, clock, on_progress=lambda done, total: progress.append((done, total)))
    assert report.tracks == 20 and report.with_audio == 20 and not report.resumed
    with Catalog.open(home) as catalog:
        tracks = catalog.tracks()
        assert catalog.summary().artists >= 2
    assert set(tracks["popularity_scale"]) == {"deezer_rank"}
    assert tracks["release_date"].str[:4].astype(int).between(2019, 2021).all()
    assert tracks["source_id"].is_unique
    assert all((home.data_dir / path).stat().st_size > 1000 for path in tracks["audio_path"])
    assert progress[0] == (0, 20) and progress[-1] == (20, 20)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_each_visited_artists_fans_land_in_the_catalog_with_the_date_read(home, served, world, clock):
    world.unknown_artists = {world.artist_ids[1]}  # Deezer has no page for this one: fans unknown
    started = datetime.now(UTC).replace(microsecond=0)
    run_collection(home, 500, clock)
    with Catalog.open(home) as catalog:
        artists = catalog.conn.execute("SELECT source_id, fans, albums, context_read_at FROM artists").fetchall()
        tracks = catalog.tracks()
    assert len(artists) == len(world.artist_ids)
    for source_id, fans, albums, read_at in artists:
        if int(source_id) in world.unknown_artists:
            assert (fans, albums, read_at) == (None, None, None)
            continue
        assert (fans, albums) == (world.fans[int(source_id)], len(world.artist_albums(int(source_id))))
        assert started <= datetime.fromisoformat(read_at) <= datetime.now(UTC)
    by_artist = tracks.groupby("primary_artist")["primary_artist_fans"]
    assert by_artist.nunique(dropna=False).eq(1).all()  # top tracks and album tracks alike
    assert tracks["primary_artist_fans"].isna().sum() == (tracks["primary_artist"] == "MC 1001").sum() > 0
    visits = [url for url in served.requests if re.search(r"/artist/\d+$", url)]
    assert len(visits) == len(set(visits)) == len(world.artist_ids)  # one read per artist visited


def test_a_queued_album_carries_its_artists_reading_and_an_older_cursor_still_resumes(world, clock):
    source = deezer_module.DeezerSource(sources.deezer_client(ReplaySession(world), clock), YEARS)
    artist_id = world.artist_ids[0]
    cursor = {"queue": [["artist", artist_id]], "seen_artists": [artist_id], "seen_albums": [], "pages": 0}
    source.next_page(cursor)
    album_entries = [entry for entry in cursor["queue"] if entry[0] == "album"]
    assert album_entries and all(entry[2]["fans"] == world.fans[artist_id] for entry in album_entries)
    tracks = source.next_page(cursor)
    assert tracks and {c.record.artists[0].fans for c in tracks} == {world.fans[artist_id]}
    older = {**cursor, "queue": [entry[:2] for entry in album_entries[1:]]}  # written before readings
    assert {c.record.artists[0].fans for c in source.next_page(older)} == {None}


def test_pages_follow_the_rate_limit(home, clips, clock, monkeypatch):
    session = ReplaySession(FakeDeezer(clips, artists=20))
    monkeypatch.setattr(sources, "new_session", lambda: session)
    run_collection(home, 500, clock)
    api_calls = [url for url in session.requests if "api.deezer.com" in url]
    assert len(api_calls) > 50  # enough requests to exhaust a burst...
    assert clock.time >= (len(api_calls) - 50) / 10 - 1e-6  # ...and no more than 10 a second after it


def test_dedup_rules_apply_on_insert(home, served, world, clock, monkeypatch):
    monkeypatch.setattr(deezer_module, "ALBUMS_PER_ARTIST", 10)  # visit the compilation too
    report = run_collection(home, 500, clock)
    assert report.exhausted
    assert report.insert.skipped == {"same name, duration and popularity": 1}
    ids = {row[0] for row in catalog_rows(home)}
    assert str(world.duplicate_id) not in ids
    in_range = [
        t
        for t, track in world.tracks.items()
        if world.albums[track["album_id"]]["release_date"] < "2022"
        and world.albums[track["album_id"]]["release_date"] >= "2019"
    ]
    assert len(ids) == len(in_range) - 1


def test_an_expired_preview_url_is_refreshed_by_track_id(home, served, world, clock):
    first_top_track = world.artist_ids[0] * 1000
    world.expired = {first_top_track}
    run_collection(home, 100, clock)
    with Catalog.open(home) as catalog:
        audio = catalog.source_ids("deezer", with_audio=True)
    assert str(first_top_track) in audio
    assert any(url.endswith(f"/track/{first_top_track}") for url in served.requests)


@pytest.mark.parametrize("interrupt_after", [3, 17, 40])
def test_an_interrupted_collection_resumes_to_the_same_catalog(tmp_path, clips, monkeypatch, interrupt_after):
    from core.config import Settings

    def run(home, world, expect_interrupt: bool):
        monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(world))
        if expect_interrupt:
            with pytest.raises(KeyboardInterrupt):
                run_collection(home, 30, FakeClock())
        return run_collection(home, 30, FakeClock())

    straight, interrupted = Settings(home=tmp_path / "a"), Settings(home=tmp_path / "b")
    run(straight, FakeDeezer(clips), expect_interrupt=False)
    broken = FakeDeezer(clips)
    broken.fail_after = interrupt_after
    report = run(interrupted, broken, expect_interrupt=True)
    assert report.resumed or interrupt_after < 5
    assert catalog_rows(interrupted) == catalog_rows(straight)
    assert len(catalog_rows(straight)) == 30


def test_a_dropped_connection_keeps_committed_pages(home, clips, clock, monkeypatch):
    world = FakeDeezer(clips)
    world.fail_after, world.interrupt = 30, requests.ConnectionError("connection reset")
    monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(world))
    report = run_collection(home, 25, clock)  # one reset is retried: the run completes
    assert report.tracks == 25

    def refuse(request):
        raise requests.ConnectionError("network is unreachable")

    monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(refuse))
    with pytest.raises(NetworkUnavailable):
        run_collection(home, 60, clock)
    assert len(catalog_rows(home)) == 25


def test_previews_unreachable_stops_before_the_page_is_committed(home, served, world, clock):
    run_collection(home, 10, clock)
    world.cdn_down = True
    with pytest.raises(NetworkUnavailable, match="Cannot reach Deezer previews"):
        run_collection(home, 30, clock)
    with Catalog.open(home) as catalog:
        assert catalog.track_count() == 10 == len(catalog.source_ids("deezer", with_audio=True))
    world.cdn_down = False
    report = run_collection(home, 30, clock)
    assert report.resumed and report.tracks == report.with_audio == 30


def test_cancelling_keeps_the_committed_pages_and_resumes(home, served, clock):
    answers = iter([False, False, False, True])
    with pytest.raises(Cancelled) as cancelled:
        run_collection(home, 50, clock, should_cancel=lambda: next(answers))
    kept = len(catalog_rows(home))
    assert kept > 0 and f"the {kept} tracks collected so far are kept" in cancelled.value.kept
    assert run_collection(home, 50, clock).tracks == 50


def test_demo_catalog_is_replaced_only_when_asked(use_demo_home, tmp_path, served, clock):
    import shutil

    from core.config import Settings

    home = Settings(home=tmp_path / "copy")
    shutil.copytree(use_demo_home.data_dir, home.data_dir)
    with pytest.raises(UsageError, match=r"synthetic demo.*--replace-demo"):
        run_collection(home, 5, clock)
    with Catalog.open(home) as catalog:
        assert catalog.synthetic
    run_collection(home, 5, clock, replace_demo=True)
    with Catalog.open(home) as catalog:
        assert not catalog.synthetic and catalog.summary().source == "deezer" and catalog.track_count() == 5


def test_cli_collect_reports_and_resumes(home, served, capsys):
    assert cli.main(["collect", "--source", "deezer", "--tracks", "12", "--years", "2019-2021"]) == 0
    assert "deezer: 12 tracks in the catalog (12 with a verified preview)" in capsys.readouterr().out
    assert cli.main(["collect", "--source", "deezer", "--tracks", "20", "--years", "2019-2021"]) == 0
    out = capsys.readouterr().out
    assert "20 tracks" in out and "resumed where the last run stopped" in out


def test_cli_full_disk_is_one_line_exit_2_and_keeps_the_catalog(home, served, world, capsys, monkeypatch):
    assert cli.main(["collect", "--tracks", "8", "--years", "2019-2021"]) == 0
    before = catalog_rows(home)
    capsys.readouterr()
    world.clips = mp3_clips(2, seconds=11)  # new audio, so there is something to write

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.collect.downloads.atomic_write_bytes", full)
    assert cli.main(["collect", "--tracks", "30", "--years", "2019-2021"]) == 2
    messages = stderr_messages(capsys)
    assert len(messages) == 1 and messages[0].startswith("error: the disk is full")
    assert catalog_rows(home) == before


def test_cli_without_network_is_one_line_exit_2(home, monkeypatch, capsys):
    def refuse(request):
        raise requests.ConnectionError("network is unreachable")

    monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(refuse))
    monkeypatch.setattr(sources, "Clock", FakeClock)
    assert cli.main(["collect", "--tracks", "5"]) == 2
    messages = stderr_messages(capsys)
    assert len(messages) == 1 and messages[0].startswith("error: Cannot reach Deezer")


def test_year_ranges_parse_and_reject_nonsense():
    assert YearRange.parse("2019-2021") == YearRange(2019, 2021)
    assert YearRange.parse("2024") == YearRange(2024, 2024)
    assert YearRange.parse(None).last - YearRange.parse(None).first == 2
    with pytest.raises(UsageError):
        YearRange.parse("2021-2019")
    with pytest.raises(UsageError):
        YearRange.parse("recent")
