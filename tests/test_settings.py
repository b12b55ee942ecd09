import subprocess
from pathlib import Path

import pytest

from bpgen.settings import ENV_FILE, EnvFileError, read_env_file


def test_python_reader_agrees_with_bash_source():
    values = read_env_file(environ={})
    script = f"set -e; source {ENV_FILE}; " + "; ".join(f'echo "{n}=${{{n}}}"' for n in values)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env={}).stdout
    assert dict(line.split("=", 1) for line in out.splitlines()) == values
    assert values["BPGEN_VENV"] == ".venv"


def test_environment_wins_and_values_are_not_evaluated(tmp_path: Path):
    env = tmp_path / "environment.sh"
    env.write_text("A=${A:-$(touch pwned)}  # comment\nB=${B:-x}\n")
    values = read_env_file(env, environ={"B": "from-env"})
    assert values == {"A": "$(touch pwned)", "B": "from-env"}
    assert not (tmp_path / "pwned").exists()


def test_bad_line_is_a_clear_error(tmp_path: Path):
    env = tmp_path / "environment.sh"
    env.write_text("rm -rf /\n")
    with pytest.raises(EnvFileError, match="environment.sh:1"):
        read_env_file(env)
