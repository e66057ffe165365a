"""What reaches a user's terminal is Hitlens's own progress and results: no library notes
(libmpg123, TensorFlow's start-up logs) and no file-watcher flood from the dashboard."""

import os
import re
import shutil
import tomllib

from tests.helpers import REPO, run_cli

LIBRARY_NOISE = re.compile(
    r"libmpg123|absl::|cpu_feature_guard|oneDNN|cuda|tensorflow|^[IWEF]\d{4} \d", re.IGNORECASE | re.MULTILINE
)


def test_commands_that_decode_mp3s_and_run_tensorflow_print_no_library_notes(tiny_demo_home, tmp_path):
    # What is printed does not depend on how many songs there are; each command's process is the point.
    shutil.copytree(tiny_demo_home.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("jobs"))
    # oneDNN forced on, as TensorFlow turns it on by itself on some CPUs (an AMD EPYC machine):
    # then it prints its start-up lines whatever TF_CPP_MIN_LOG_LEVEL says. Every machine checks that case.
    onednn = {"TF_ENABLE_ONEDNN_OPTS": "1"}
    # spectrograms in two worker processes; musicnn (TensorFlow) in this one
    for command in (["features", "--preset", "all", "--workers", "2"], ["embeddings"]):
        result = run_cli(*command, home=tmp_path, check=True, env=onednn)
        noise = [line for line in re.split(r"[\r\n]+", result.stderr) if LIBRARY_NOISE.search(line)]
        assert noise == [], f"{command[0]} printed library notes"
        assert "\r" not in result.stderr, "progress bars redrawn into a pipe leave carriage-return fragments"


def test_the_dashboard_does_not_watch_its_folder_for_changes():
    # Streamlit's watcher covers the app's folder recursively, data folder included; set-up's
    # writes overflowed the inotify queue into hundreds of terminal lines.
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none"


def test_the_dashboard_listens_on_this_machine_only_unless_told_otherwise():
    # It holds uploads and starts training jobs: started any way (python -m ui.server,
    # streamlit run), it must not answer on the machine's external address by default.
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"


def test_tensorflow_is_silenced_only_while_it_loads():
    """The start-up lines go, and what is written to standard error afterwards still arrives."""
    import subprocess
    import sys

    script = (
        "import os, core, keras; "  # keras imports TensorFlow: the first import need not be ours
        "os.write(2, b'after the import\\n')"
    )
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert done.stderr == "after the import\n", done.stderr


def test_an_unwritable_home_is_one_line_and_exit_2(tmp_path):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    result = run_cli("demo", "--tracks", "10", home=blocked / "home")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Hitlens cannot create the folder" in result.stderr


def test_a_reader_that_stops_reading_ends_the_command_quietly(tiny_demo_home):
    import subprocess
    import sys

    env = {**os.environ, "HITLENS_HOME": str(tiny_demo_home.home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "info", "--json"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    process.stdout.close()  # as `| head -0` does before the command writes
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert process.returncode in (0, 1)


def test_file_names_are_printed_escaped_so_they_cannot_fake_a_line_or_colour_the_screen(trained_home, tmp_path):
    import numpy as np
    import soundfile as sf

    name = "take\n  9. fake.wav: popular (99%)\x1b[31m.wav"
    sf.write(tmp_path / name, 0.1 * np.random.default_rng(0).standard_normal(10 * 22_050), 22_050)
    result = run_cli("score", str(tmp_path / name), "--model", "cnn2", home=trained_home.home, check=True)
    assert "\x1b" not in result.stdout and "\n  9. fake.wav" not in result.stdout
    assert "take\\n  9. fake.wav: popular (99%)\\x1b[31m.wav" in result.stdout


def test_a_fake_mp3_and_a_folder_get_their_one_line_and_no_library_notes(trained_home, tmp_path):
    letter = tmp_path / "letter.mp3"
    letter.write_text("Dear label, please listen to my demo. " * 50)  # libmpg123 resyncs through it
    takes = tmp_path / "takes"  # a folder with no extension
    takes.mkdir()
    result = run_cli("score", str(letter), str(takes), home=trained_home.home)
    assert result.returncode == 1, result.stderr  # each file failed, each with its line
    assert not [line for line in result.stderr.splitlines() if LIBRARY_NOISE.search(line) or "Note:" in line]
    assert "letter.mp3' could not be decoded as audio" in result.stdout
    assert "is a folder, not an audio file" in result.stdout and "no extension" not in result.stdout
