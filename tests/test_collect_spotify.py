"""The study's Spotify sampler against recorded Spotify (and Deezer) responses."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from recorded import FakeClock, FakeDeezer, FakeSpotify, ReplaySession, mp3_clips

from core import cli
from core.catalog.store import Catalog
from core.collect import sources
from core.collect.collection import YearRange, collect
from core.collect.spotify import PAGING_LIMIT, find_credentials
from core.errors import AccessDenied, CredentialsMissing, RateLimited

YEARS = YearRange(2019, 2021)


@pytest.fixture(scope="module")
def clips() -> list[bytes]:
    return mp3_clips(3)


@pytest.fixture
def spotify(clips, monkeypatch) -> FakeSpotify:
    fake = FakeSpotify(FakeDeezer(clips))
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "recorded-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "recorded-secret")
    monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(fake))
    monkeypatch.setattr(sources, "Clock", FakeClock)
    return fake


def run_collection(settings, target: int, seed: int = 42):
    source, downloader = sources.build_source(settings, "spotify", YEARS, market="US", seed=seed, clock=FakeClock())
    return collect(settings, source, downloader, target)


def test_sampler_asks_the_studys_random_queries_within_the_paging_limit(home, spotify):
    spotify.previews = True
    report = run_collection(home, 60)  # every match: takes several random pages
    assert report.tracks == 60 and report.with_audio == 60
    queries = spotify.searches
    for query in queries:
        assert re.fullmatch(r"genre:hip-hop year:2019-2021 track:(%\w|\w%|%\w%)", query["q"])
        assert query["type"] == "track" and query["market"] == "US" and query["limit"] == "50"
        assert int(query["offset"]) + int(query["limit"]) <= PAGING_LIMIT
    assert len({q["q"] for q in queries}) > 1 and len({q["offset"] for q in queries}) > 1
    with Catalog.open(home) as catalog:
        tracks = catalog.tracks()
    assert set(tracks["popularity_scale"]) == {"spotify"}
    assert tracks["isrc"].str.startswith("USRC1").all() and tracks["album_type"].notna().all()


def test_artists_followers_land_in_the_catalog_with_the_date_read(home, spotify):
    spotify.previews = True
    started = datetime.now(UTC).replace(microsecond=0)
    run_collection(home, 60)
    with Catalog.open(home) as catalog:
        artists = catalog.conn.execute("SELECT source_id, fans, context_read_at FROM artists").fetchall()
        tracks = catalog.tracks()
    assert artists and tracks["primary_artist_fans"].notna().all()
    for source_id, fans, read_at in artists:
        assert fans == spotify.deezer.fans[int(source_id[2:])]
        assert started <= datetime.fromisoformat(read_at) <= datetime.now(UTC)
    assert 0 < len(spotify.artist_lookups) <= len(spotify.searches)  # one batch a page at most: 50 artists or fewer


@pytest.mark.parametrize("app", ["no followers field", "no artists endpoint"])
def test_artists_without_followers_are_stored_as_unknown(home, spotify, app):
    """What an app registered since 2024-2026 may get: the collection goes on, fans are NULL."""
    spotify.previews = True
    if app == "no followers field":
        spotify.followers = False
    else:
        spotify.artists_status = 403
    assert run_collection(home, 20).tracks == 20
    with Catalog.open(home) as catalog:
        readings = catalog.conn.execute("SELECT fans, albums, context_read_at FROM artists").fetchall()
        assert catalog.tracks()["primary_artist_fans"].isna().all()
    assert readings and {tuple(row) for row in readings} == {(None, None, None)}


def test_artists_are_looked_up_50_at_a_time(home, spotify):
    source, _ = sources.build_source(home, "spotify", YEARS, clock=FakeClock())
    found = source._artists({f"ar{n:020d}" for n in range(1000, 1120)})
    assert [len(ids) for ids in spotify.artist_lookups] == [50, 50, 20]
    assert len(found) == 120 and found[f"ar{1000:020d}"].fans == spotify.deezer.fans[1000]


def test_same_seed_asks_the_same_questions(tmp_path, spotify):
    from core.config import Settings

    run_collection(Settings(home=tmp_path / "a"), 10)
    first = list(spotify.searches)
    spotify.searches.clear()
    run_collection(Settings(home=tmp_path / "b"), 10)
    assert spotify.searches == first


def test_development_mode_page_size_of_10_is_detected(home, spotify):
    spotify.max_limit = 10
    spotify.previews = True
    report = run_collection(home, 15)
    assert report.tracks == 15
    limits = [q["limit"] for q in spotify.searches]
    assert limits[0] == "50" and set(limits[1:]) == {"10"}  # asked once, then remembered


def test_app_without_popularity_stops_with_the_2026_explanation(home, spotify):
    spotify.popularity = False
    with pytest.raises(AccessDenied, match=r"no 'popularity' field.*February 2026.*--source deezer.*import"):
        run_collection(home, 10)
    with Catalog.open(home) as catalog:
        assert catalog.track_count() == 0


def test_null_previews_are_resolved_through_deezer_by_isrc(home, spotify):
    spotify.previews = False  # what every app registered since November 2024 gets
    report = run_collection(home, 12)
    assert report.with_audio == 12
    with Catalog.open(home) as catalog:
        tracks = catalog.tracks()
    assert tracks["preview_url"].str.contains("dzcdn.net").all()
    assert tracks["source"].eq("spotify").all()  # Spotify's row and popularity, Deezer's audio


def test_short_429_is_waited_out_and_long_one_reported(home, spotify):
    spotify.previews = True
    spotify.retry_after = "2"
    assert run_collection(home, 5).tracks == 5
    spotify.retry_after = str(9 * 3600)
    with pytest.raises(RateLimited, match=r"Spotify asks to wait 9 h 00 min"):
        run_collection(home, 20)
    with Catalog.open(home) as catalog:
        assert catalog.track_count() == 5


def test_revoked_credentials_are_one_line_exit_2(home, spotify, capsys):
    spotify.token_error = "invalid_client"
    assert cli.main(["collect", "--source", "spotify", "--tracks", "5"]) == 2
    err = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if line.startswith("error")]
    assert len(err) == 1 and "rejected the app's credentials (invalid_client)" in err[0]


def test_401_on_search_is_access_denied(home, spotify):
    spotify.search_status = 401
    with pytest.raises(AccessDenied, match="HTTP 401"):
        run_collection(home, 5)


def test_missing_credentials_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)
    with pytest.raises(CredentialsMissing, match=r"SPOTIPY_CLIENT_ID.*Deezer, which needs no key"):
        find_credentials(tmp_path / "absent.toml")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[spotify]\nclient_id = "abc"\nclient_secret = "xyz"\n')
    assert (find_credentials(secrets).client_id, find_credentials(secrets).client_secret) == ("abc", "xyz")


def test_cli_without_credentials_is_one_line_exit_2(home, monkeypatch, capsys):
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)
    monkeypatch.setattr("core.collect.spotify.SECRETS_FILE", home.home / "no-secrets.toml")
    assert cli.main(["collect", "--source", "spotify", "--tracks", "5"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: No Spotify credentials")
