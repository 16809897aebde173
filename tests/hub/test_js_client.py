"""The official JS client (@huggingface/hub) lists and downloads from the test hub: proof that the hub speaks
the protocol real clients expect, not just what our own tests assume."""

import os
import shutil
import subprocess

import pytest

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js_client")


def test_official_js_client_against_hub(hub):
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        print("node is not installed: skipping the @huggingface/hub check")
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "@huggingface", "hub")):
        assert npm, "node is installed but npm is not: cannot install @huggingface/hub"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=600)
    run = subprocess.run([node, "check.mjs", hub.url, hub.fixtures_dir], cwd=JS_DIR, capture_output=True,
                         text=True, timeout=300)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASS (all checks)" in run.stdout
    log = hub.log()
    assert any(e["host"] == "cdn" for e in log)
    assert any(e["has_authorization"] for e in log if e["host"] == "hub")  # the gated download sent a token
    assert not any(e["has_authorization"] for e in log if e["host"] == "cdn")
