"""run.json names the code of each sitting: the commit of the checkout mtkeras runs from, or none."""

import subprocess

from mtkeras.runs.provenance import sitting, source_commit


def git(folder, *args):
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_of_the_checkout_whose_top_folder_holds_the_package(tmp_path):
    repo = tmp_path / "repo"
    (repo / "mtkeras").mkdir(parents=True)
    (repo / "mtkeras" / "__init__.py").write_text("")
    git(repo, "init", "-q")
    assert source_commit(str(repo / "mtkeras")) == (None, None)  # no commit yet
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    assert source_commit(str(repo / "mtkeras")) == (git(repo, "rev-parse", "HEAD"), False)
    (repo / "untracked.txt").write_text("not part of the code")
    assert source_commit(str(repo / "mtkeras"))[1] is False
    (repo / "mtkeras" / "__init__.py").write_text("x = 1\n")  # an uncommitted change to the code
    assert source_commit(str(repo / "mtkeras"))[1] is True


def test_no_commit_outside_a_checkout_or_inside_someone_elses(tmp_path):
    (tmp_path / "plain" / "mtkeras").mkdir(parents=True)
    assert source_commit(str(tmp_path / "plain" / "mtkeras")) == (None, None)
    # Installed into a virtualenv inside a user's project: the project's commit is not mtkeras'.
    project = tmp_path / "project"
    package = project / ".venv" / "lib" / "site-packages" / "mtkeras"
    package.mkdir(parents=True)
    (project / "train.py").write_text("")
    git(project, "init", "-q")
    git(project, "add", "train.py")
    git(project, "commit", "-q", "-m", "project")
    assert source_commit(str(package)) == (None, None)


def test_a_sitting_records_where_it_starts_and_the_code():
    record = sitting(3)
    assert record["from_epoch"] == 3 and record["started"].endswith("+00:00")
    assert set(record) == {"from_epoch", "started", "mtkeras", "commit", "dirty"}
