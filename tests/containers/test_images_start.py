"""Each container starts under gunicorn from its folder, with only environment settings.

No Docker daemon is needed: the test reads the Dockerfile's final stage, lays out the files
its COPY instructions put under WORKDIR, installs what the image installs (identity_core and
the container's requirements.txt, nothing from this repository's development venv) into a
venv of its own, and runs the image's exact CMD from that folder. What this does not cover:
the base image itself and the non-root user (hadolint checks the Dockerfile's shape).

The venvs are cached under ``.venv-images/<container>-<hash of its requirements>``, so only
the first run (or a changed pin) downloads packages; identity_core is reinstalled every run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.containers.dockerfile import CONTAINERS, CONTEXT, FinalStage, final_stage
from tests.support.alb_tokens import AlbSigner, core_environ, key_endpoint

pytestmark = pytest.mark.containers

ROOT = Path(__file__).resolve().parents[2]
VENV_CACHE = ROOT / ".venv-images"
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15

# Beyond the core settings (tests/support/alb_tokens.core_environ), what each service needs.
SERVICE_ENVIRON = {
    "binder": {},
    "agent": {
        "WORKLOAD_NAME": "blueprint-agent",
        "CREDENTIAL_PROVIDER_NAME": "github",
        "CREDENTIAL_PROVIDER_VENDOR": "GithubOauth2",
        "CREDENTIAL_PROVIDER_SCOPES": "read:user",
        "SESSION_BINDING_URL": "http://127.0.0.1:8080/oauth2/session-binding",
        "MODEL_PROVIDER": "local-rules",
    },
}
# A shared setting and one of the service's own, each of which must stop the process.
REQUIRED = {
    "binder": ["ALB_ARN", "PENDING_FLOW_TABLE"],
    "agent": ["ALB_ARN", "WORKLOAD_NAME"],
}


def lay_out(stage: FinalStage, root: Path) -> Path:
    """Copy what the final stage copies, from the build context, to the same paths under root."""
    for sources, dest in stage.copies:
        target = root / dest.lstrip("/")
        for source in sources:
            src = CONTEXT / source
            assert src.exists(), f"COPY source {source} is missing from the build context"
            if src.is_dir():
                shutil.copytree(
                    src, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                into = target / src.name if dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, into)
    workdir = root / stage.workdir.lstrip("/")
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def _python() -> str:
    """The images run python:3.12-slim: use 3.12 where it works here, else this interpreter."""
    candidate = shutil.which("python3.12")
    if candidate:
        # A pyenv shim exists even where 3.12 is not selected; it then exits non-zero.
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return sys.executable


def image_venv(container: str, tmp_path: Path) -> Path:
    requirements = CONTEXT / container / "requirements.txt"
    python = _python()
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    key = hashlib.sha256(
        requirements.read_bytes()
        + (CONTEXT / "identity_core" / "pyproject.toml").read_bytes()
        + version.encode()
    ).hexdigest()[:12]
    venv = VENV_CACHE / f"{container}-{key}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        # setuptools only to build identity_core without an isolated build env on every run.
        subprocess.run(
            [*pip, "install", "-r", str(requirements), "setuptools==80.9.0"],
            check=True,
            timeout=600,
        )
        (venv / ".ready").write_text(key)
    # identity_core as the image gets it: built from its folder, not the editable dev install.
    source = tmp_path / "identity_core-src"
    shutil.copytree(
        CONTEXT / "identity_core",
        source,
        ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"),
    )
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", "--force-reinstall", str(source)],
        check=True,
        timeout=120,
    )
    return venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(stage: FinalStage, workdir: Path, venv: Path, environ: dict[str, str], log: Path):
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(workdir.parent),
        # Never reach for instance credentials; these services make no AWS call at start.
        "AWS_EC2_METADATA_DISABLED": "true",
        **environ,
    }
    return subprocess.Popen(
        stage.cmd,
        cwd=workdir,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def keys():
    with key_endpoint(AlbSigner()) as endpoint:
        yield endpoint


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request, tmp_path_factory):
    """One layout and one venv per container for the module: installing is the slow part."""
    name = request.param
    dockerfile = CONTEXT / name / "Dockerfile"
    assert dockerfile.exists(), f"containers/{name}/Dockerfile does not exist yet"
    stage = final_stage(dockerfile)
    tmp = tmp_path_factory.mktemp(name)
    workdir = lay_out(stage, tmp / "image")
    return name, stage, workdir, image_venv(name, tmp)


def test_container_serves_healthz_under_gunicorn_from_its_folder(container, keys, tmp_path):
    name, stage, workdir, venv = container
    assert stage.cmd[:3] == ["gunicorn", "--config", "gunicorn.conf.py"]
    assert stage.cmd[3] == f"{name}_app.wsgi:app"
    port = free_port()
    environ = {**core_environ(keys.url), **SERVICE_ENVIRON[name], "PORT": str(port)}
    log = tmp_path / "gunicorn.log"
    process = start(stage, workdir, venv, environ, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
            except requests.RequestException:
                status = None
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, f"{name} did not become healthy:\n{log.read_text()}"

        if name == "binder":
            # The session id is a bearer reference until bound: it must not reach the logs.
            marker = "urn:ietf:params:oauth:request_uri:never-in-a-log-0001"
            answer = requests.get(
                f"http://127.0.0.1:{port}/oauth2/session-binding",
                params={"session_id": marker},
                timeout=5,
            )
            assert answer.status_code == 401
    finally:
        stop(process)

    output = log.read_text()
    assert process.returncode == 0, output
    if name == "binder":
        assert '"GET /oauth2/session-binding" 401' in output
        assert "never-in-a-log" not in output


@pytest.mark.parametrize("missing_index", [0, 1], ids=["shared_setting", "own_setting"])
def test_container_refuses_to_start_without_a_required_setting(
    container, keys, tmp_path, missing_index
):
    name, stage, workdir, venv = container
    missing = REQUIRED[name][missing_index]
    environ = {**core_environ(keys.url), **SERVICE_ENVIRON[name], "PORT": str(free_port())}
    del environ[missing]
    log = tmp_path / "gunicorn.log"
    process = start(stage, workdir, venv, environ, log)
    try:
        process.wait(timeout=START_TIMEOUT_SECONDS)
    finally:
        stop(process)

    output = log.read_text()
    assert process.returncode != 0, output
    assert missing in output
