"""Uploads kept in the home (issue 23, item 1): the Score page's list survives a reload, a
cleared song still reopens from the history, and the folder stays within its bound."""

import shutil

from core.catalog.history import content_hash
from core.catalog.store import Catalog
from core.config import Settings
from core.songs import uploads
from tests.helpers import demo_song, open_page, page_text
from ui.navigation import SCORE


def _keep(catalog, settings, name, data):
    return uploads.keep(catalog, settings, name, data, content_hash(data))


def test_a_kept_upload_is_one_file_per_content_listed_in_upload_order(home):
    with Catalog.open(home, create=True) as catalog:
        _keep(catalog, home, "take 1.wav", b"a" * 100)
        _keep(catalog, home, "take 2.wav", b"b" * 100)
        _keep(catalog, home, "take 1 renamed.wav", b"a" * 100)  # the same content again: one file, moved last
        listed = uploads.listed(catalog, home)
    assert [song.name for song in listed] == ["take 2.wav", "take 1 renamed.wav"]
    assert sorted(p.name for p in uploads.uploads_dir(home).iterdir()) == sorted(
        f"{content_hash(data)}.wav" for data in (b"a" * 100, b"b" * 100)
    )
    assert listed[1].path.read_bytes() == b"a" * 100


def test_clearing_the_list_keeps_the_files_and_a_song_goes_back_on_it(home):
    with Catalog.open(home, create=True) as catalog:
        _keep(catalog, home, "a.wav", b"a" * 10)
        _keep(catalog, home, "b.wav", b"b" * 10)
        uploads.clear_list(catalog)
        assert uploads.listed(catalog, home) == []
        assert uploads.kept(catalog, home, content_hash(b"b" * 10)).path.exists()
        uploads.list_again(catalog, content_hash(b"b" * 10))
        assert [song.name for song in uploads.listed(catalog, home)] == ["b.wav"]


def test_the_oldest_uploads_go_first_past_the_bound_songs_off_the_list_before_listed_ones(home, monkeypatch):
    monkeypatch.setattr(uploads, "KEPT_UPLOADS_MB", 3)
    megabyte = 1024 * 1024
    with Catalog.open(home, create=True) as catalog:
        _keep(catalog, home, "old listed.wav", b"1" * megabyte)
        _keep(catalog, home, "off the list.wav", b"2" * megabyte)
        uploads.clear_list(catalog)
        uploads.list_again(catalog, content_hash(b"1" * megabyte))
        assert _keep(catalog, home, "new.wav", b"3" * megabyte) == []  # 3 MB: within the bound
        assert _keep(catalog, home, "newer.wav", b"4" * megabyte) == ["off the list.wav"]
        assert _keep(catalog, home, "big.wav", b"5" * 3 * megabyte) == ["old listed.wav", "new.wav", "newer.wav"]
        assert [song.name for song in uploads.listed(catalog, home)] == ["big.wav"]  # the newest stays
        assert uploads.kept_size(catalog) == (1, 3 * megabyte)
    assert len(list(uploads.uploads_dir(home).iterdir())) == 1


def test_a_file_deleted_behind_hitlens_is_dropped_from_the_list(home):
    with Catalog.open(home, create=True) as catalog:
        _keep(catalog, home, "gone.wav", b"g" * 10)
        _keep(catalog, home, "here.wav", b"h" * 10)
        uploads.kept(catalog, home, content_hash(b"g" * 10)).path.unlink()
        assert [song.name for song in uploads.listed(catalog, home)] == ["here.wav"]
        assert uploads.kept_size(catalog) == (1, 10)


def test_a_reload_finds_the_uploads_and_a_cleared_song_reopens_from_the_history(trained_home, tmp_path, monkeypatch):
    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    shutil.copytree(trained_home.models_dir, tmp_path / "models")
    settings = Settings(home=tmp_path)
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    app = open_page(SCORE.file)
    take = demo_song(settings, 35, 2)
    app.file_uploader[0].set_value([("kept take.wav", take, "audio/wav")]).run()
    heading = next(h.value for h in app.subheader if h.value.startswith("kept take\\.wav: "))

    reloaded = open_page(SCORE.file)  # a browser reload: a new session, nothing uploaded in it
    assert "1 song on your list: kept take\\.wav" in page_text(reloaded)
    assert heading in page_text(reloaded)  # the same verdict, with no upload

    next(b for b in reloaded.button if b.label == "Clear the list").click().run()
    cleared = open_page(SCORE.file)
    assert "on your list" not in page_text(cleared) and "kept take\\.wav: " not in page_text(cleared)
    reopen = next(s for s in cleared.selectbox if s.label == "Reopen a scored song")
    assert any(option.startswith("kept take.wav (last scored ") for option in reopen.options)
    reopen.set_value(content_hash(take))  # the shared home may keep other tests' songs too
    next(b for b in cleared.button if b.label == "Open it").click().run()
    assert not cleared.exception, cleared.exception
    assert heading in page_text(cleared) and "1 song on your list" in page_text(cleared)
    assert "What drives the verdict" in page_text(cleared)  # explanation, tags and players come back with it

    next(b for b in cleared.button if b.label == "Remove its file").click().run()
    options = [o for s in cleared.selectbox if s.label == "Reopen a scored song" for o in s.options]
    assert not any(option.startswith("kept take.wav") for option in options)
    with Catalog.open(settings) as catalog:
        assert uploads.kept(catalog, settings, content_hash(take)) is None
    assert not list(uploads.uploads_dir(settings).glob(f"{content_hash(take)}*"))
    assert "kept take.wav" in cleared.dataframe[-1].value["file"].tolist()  # its history row stays
